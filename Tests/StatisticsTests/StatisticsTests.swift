import Foundation
import Testing
@testable import Statistics

/// Reference values come from scipy/statsmodels/pandas via `make_reference.py` next to this file.
struct Reference: @unchecked Sendable {
    struct Case: @unchecked Sendable {
        let name: String
        let x: [Double], y: [Double]
        let raw: [String: Any]
        func pair(_ k: String) -> (Double, Double) { let a = raw[k] as! [Double]; return (a[0], a[1]) }
    }
    let cases: [Case]
    let distributions: [String: Any]

    static let shared: Reference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("reference.json")
        let obj = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let cases = (obj["cases"] as! [[String: Any]]).map {
            Case(name: $0["name"] as! String, x: $0["x"] as! [Double], y: $0["y"] as! [Double], raw: $0)
        }
        return Reference(cases: cases, distributions: obj["distributions"] as! [String: Any])
    }()
}

func close(_ a: Double, _ b: Double, rel: Double = 1e-9, abs absTol: Double = 1e-12) -> Bool {
    abs(a - b) <= max(absTol, rel * max(abs(a), abs(b)))
}

@Suite struct DistributionTests {
    @Test func studentT() {
        for row in Reference.shared.distributions["t_two_sided"] as! [[Double]] {
            let p = Distribution.studentTwoSided(row[0], df: row[1])
            #expect(close(p, row[2], rel: 1e-9, abs: 1e-15), "t=\(row[0]) df=\(row[1]): \(p) vs \(row[2])")
        }
    }

    @Test func normal() {
        for row in Reference.shared.distributions["normal_two_sided"] as! [[Double]] {
            #expect(close(Distribution.normalTwoSided(row[0]), row[1], rel: 1e-12))
        }
    }

    @Test func incompleteBeta() {
        for row in Reference.shared.distributions["betainc"] as! [[Double]] {
            let v = Distribution.regularizedIncompleteBeta(a: row[0], b: row[1], x: row[2])
            #expect(close(v, row[3], rel: 1e-10, abs: 1e-14), "\(row): \(v)")
        }
    }
}

@Suite struct CorrelationTests {
    @Test(arguments: Reference.shared.cases.map(\.name))
    func againstScipy(_ name: String) {
        let c = Reference.shared.cases.first { $0.name == name }!
        let s = PairedSample(x: c.x, y: c.y)
        let w = s.ones
        let (pr, pp) = c.pair("pearson")
        let r = s.pearson(w)
        #expect(close(r, pr), "pearson \(r) vs \(pr)")
        #expect(close(correlationPValue(r, n: c.x.count), pp, rel: 1e-7, abs: 1e-300))
        let (sr, sp) = c.pair("spearman")
        let rho = s.spearman(w)
        #expect(close(rho, sr), "spearman \(rho) vs \(sr)")
        #expect(close(correlationPValue(rho, n: c.x.count), sp, rel: 1e-7, abs: 1e-300))
        let (kt, kp) = c.pair("kendall")
        let k = s.kendall(w)
        #expect(close(k.tau, kt), "kendall \(k.tau) vs \(kt)")
        #expect(close(k.p, kp, rel: 1e-7, abs: 1e-300), "kendall p \(k.p) vs \(kp)")
    }

    @Test(arguments: Reference.shared.cases.map(\.name))
    func logisticAgainstStatsmodels(_ name: String) throws {
        let c = Reference.shared.cases.first { $0.name == name }!
        let ref = c.raw["logit"] as! [String: Any]
        let fit = try logisticRegression(columns: [c.x], y: c.y)
        let coef = ref["coef"] as! [Double], se = ref["se"] as! [Double], p = ref["p"] as! [Double]
        for j in 0..<2 {
            #expect(close(fit.coef[j], coef[j], rel: 1e-7), "coef \(j): \(fit.coef[j]) vs \(coef[j])")
            #expect(close(fit.se[j], se[j], rel: 1e-7), "se \(j): \(fit.se[j]) vs \(se[j])")
            #expect(close(fit.p[j], p[j], rel: 1e-6, abs: 1e-300), "p \(j): \(fit.p[j]) vs \(p[j])")
        }
        // statsmodels' GLM log-likelihood for fractional outcomes adds a binomial-coefficient term.
        if c.y.allSatisfy({ $0 == 0 || $0 == 1 }) {
            #expect(close(fit.logLikelihood, ref["llf"] as! Double, rel: 1e-9))
        }
    }

    @Test(arguments: Reference.shared.cases.map(\.name))
    func binsQuantilesAndGap(_ name: String) {
        let c = Reference.shared.cases.first { $0.name == name }!
        for (b, rowsAny) in c.raw["qbins"] as! [String: Any] {
            let rows = rowsAny as! [[Double]]
            let bins = binnedMeans(x: c.x, y: c.y, bins: Int(b)!, scheme: .quantile)
            #expect(bins.count == rows.count, "\(b) bins")
            for (mine, ref) in zip(bins, rows) {
                #expect(mine.n == Int(ref[0]))
                #expect(close(mine.mean, ref[1]))
                #expect(close(mine.ciLow, ref[2], rel: 1e-9, abs: 1e-12), "wilson low \(mine.ciLow) vs \(ref[2])")
                #expect(close(mine.ciHigh, ref[3], rel: 1e-9, abs: 1e-12))
            }
        }
        let s = PairedSample(x: c.x, y: c.y)
        let sorted = c.x.sorted()
        // (Foundation's JSON parser on Linux can be off by an ulp, so "equal" allows that.)
        for q in c.raw["quantiles"] as! [[Double]] {
            #expect(close(Quantile.linear(sorted: sorted, q[0]), q[1], rel: 1e-15, abs: 1e-15))
            #expect(close(s.quantileX(q[0], s.ones), q[1], rel: 1e-15, abs: 1e-15))
        }
        let g = c.raw["gap"] as! [Double]
        let mine = s.gap(g[0], s.ones)
        #expect(close(mine.gap, g[1]))
        #expect(mine.top == Int(g[2]) && mine.bottom == Int(g[3]))
    }

    /// The weighted forms used by the bootstrap equal the plain statistics on expanded arrays.
    @Test func weightsEqualExpandedSample() {
        var rng = Xoshiro256(seed: 9)
        for c in Reference.shared.cases {
            let s = PairedSample(x: c.x, y: c.y)
            var w = [Int](repeating: 0, count: s.count)
            for _ in 0..<s.count { w[Int(rng.next(upperBound: UInt64(s.count)))] += 1 }
            var ex: [Double] = [], ey: [Double] = []
            for i in 0..<s.count { for _ in 0..<w[i] { ex.append(s.x[i]); ey.append(s.y[i]) } }
            let e = PairedSample(x: ex, y: ey)
            let ones = e.ones
            #expect(close(s.spearman(w), e.spearman(ones)))
            #expect(close(s.pearson(w), e.pearson(ones)))
            let a = s.kendall(w), b = e.kendall(ones)
            #expect(close(a.tau, b.tau) && close(a.p, b.p, rel: 1e-9, abs: 1e-300))
            #expect(close(s.gap(0.1, w).gap, e.gap(0.1, ones).gap))
            #expect(s.quantileX(0.37, w) == e.quantileX(0.37, ones))
        }
    }

    /// Independent check of Kendall's tau-b by the O(n^2) definition.
    @Test func kendallByDefinition() {
        for c in Reference.shared.cases {
            let n = c.x.count
            var con = 0.0, dis = 0.0, tx = 0.0, ty = 0.0
            for i in 0..<n { for j in (i + 1)..<n {
                let dx = c.x[i] - c.x[j], dy = c.y[i] - c.y[j]
                if dx == 0 && dy == 0 { continue }
                if dx == 0 { tx += 1 } else if dy == 0 { ty += 1 } else if (dx > 0) == (dy > 0) { con += 1 } else { dis += 1 }
            } }
            let tau = (con - dis) / ((con + dis + tx) * (con + dis + ty)).squareRoot()
            let s = PairedSample(x: c.x, y: c.y)
            #expect(close(s.kendall(s.ones).tau, tau))
        }
    }

    @Test func bootstrapIsSeededAndCloseToScipy() {
        for c in Reference.shared.cases where c.x.count >= 300 {
            let s = PairedSample(x: c.x, y: c.y)
            let stats: [([Int]) -> Double] = [{ s.gap(0.1, $0).gap }, { s.spearman($0) }]
            let a = bootstrap(count: s.count, resamples: 2000, seed: 7, statistics: stats)
            let b = bootstrap(count: s.count, resamples: 2000, seed: 7, statistics: stats)
            #expect(a[0].low == b[0].low && a[1].high == b[1].high)
            let (gl, gh) = c.pair("gap_bootstrap_scipy"), (sl, sh) = c.pair("spearman_bootstrap_scipy")
            // Different random streams: the percentile points agree within Monte Carlo error.
            #expect(abs(a[0].low - gl) < 0.04 && abs(a[0].high - gh) < 0.04, "\(c.name) gap \(a[0]) vs \(gl) \(gh)")
            #expect(abs(a[1].low - sl) < 0.02 && abs(a[1].high - sh) < 0.02, "\(c.name) rho \(a[1]) vs \(sl) \(sh)")
            let point = s.gap(0.1, s.ones).gap
            #expect(a[0].low <= point && point <= a[0].high)
        }
    }

    @Test func degenerateInputs() {
        let s = PairedSample(x: [1, 1, 1, 1], y: [0, 1, 0, 1])
        #expect(s.spearman(s.ones).isNaN)
        #expect(s.kendall(s.ones).tau.isNaN)
        #expect(throws: LogisticError.self) { try logisticRegression(columns: [[1, 2, 3, 4]], y: [1, 1, 1, 1]) }
        // Perfect separation has no finite maximum-likelihood slope.
        #expect(throws: LogisticError.self) { try logisticRegression(columns: [[1, 2, 3, 4, 5, 6]], y: [0, 0, 0, 1, 1, 1]) }
        #expect(binnedMeans(x: [2, 2, 2], y: [1, 0, 1], bins: 10, scheme: .quantile).map(\.n) == [3])
        #expect(wilsonInterval(successes: 0, n: 0).lo.isNaN)
    }
}

@Suite struct ZipfTests {
    @Test func maximumLikelihoodMatchesScipy() throws {
        for z in Reference.shared.distributions["zipf_mle"] as! [[String: Any]] {
            let counts = (z["counts"] as! [Double]).map { UInt64($0) }
            let fit = try #require(zipfMLE(countsDescending: counts, maxRank: counts.count))
            let name = z["name"] as! String
            #expect(close(fit.exponent, z["exponent"] as! Double, rel: 1e-7), "\(name): \(fit.exponent)")
            #expect(close(fit.standardError, z["se"] as! Double, rel: 1e-4), "\(name) se: \(fit.standardError)")
            #expect(close(fit.logLikelihood, z["llf"] as! Double, rel: 1e-9), "\(name) llf")
            #expect(fit.tokens == counts.reduce(0, +) && fit.maxRank == counts.count)
        }
    }

    @Test func recoversTheExponentOfExactZipfCounts() throws {
        // Counts exactly proportional to r^-1.2 (rounded): the fit lands next to 1.2.
        let counts = (1...5000).map { UInt64((1e7 * pow(Double($0), -1.2)).rounded()) }
        let fit = try #require(zipfMLE(countsDescending: counts, maxRank: 5000))
        #expect(abs(fit.exponent - 1.2) < 1e-3)
        #expect(zipfMLE(countsDescending: [5], maxRank: 1) == nil)
    }
}
