import Foundation
import Testing
@testable import Statistics

/// Clustered logistic fits, p-value adjustment and the cluster bootstrap. Reference values come
/// from statsmodels via `make_cluster_reference.py` next to this file.
@Suite struct ClusteredLogisticTests {
    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("cluster_reference.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()
    static var cases: [[String: Any]] { reference["cases"] as! [[String: Any]] }

    @Test(arguments: ClusteredLogisticTests.cases.map { $0["name"] as! String })
    func equalsStatsmodelsGLMWithClusteredErrors(_ name: String) throws {
        let c = Self.cases.first { $0["name"] as! String == name }!
        let y = c["y"] as! [Double], columns = c["columns"] as! [[Double]], groups = (c["groups"] as! [NSNumber]).map(\.intValue)
        let ref = c["fit"] as! [String: Any]
        let fit = try logisticRegression(columns: columns, y: y, clusters: groups)
        let coef = ref["coef"] as! [Double], se = ref["se"] as! [Double], p = ref["p"] as! [Double]
        let cov = ref["cov"] as! [[Double]]
        #expect(fit.clusters == Set(groups).count)
        for j in coef.indices {
            #expect(close(fit.coef[j], coef[j], rel: 1e-8, abs: 1e-10), "\(name) coef \(j): \(fit.coef[j]) vs \(coef[j])")
            #expect(close(fit.se[j], se[j], rel: 1e-7), "\(name) se \(j): \(fit.se[j]) vs \(se[j])")
            #expect(close(fit.p[j], p[j], rel: 1e-6, abs: 1e-12), "\(name) p \(j): \(fit.p[j]) vs \(p[j])")
            for k in coef.indices {
                #expect(close(fit.covariance[j * coef.count + k], cov[j][k], rel: 1e-6, abs: 1e-12))
            }
        }
        // (statsmodels adds a normalizing constant to the log-likelihood of fractional outcomes.)
        if y.allSatisfy({ $0 == 0 || $0 == 1 }) { #expect(close(fit.logLikelihood, ref["llf"] as! Double, rel: 1e-9)) }
        // A linear combination's variance is c'Vc.
        let combo = [0, 1, 0, 0.7] + [Double](repeating: 0, count: coef.count - 4)
        var v = 0.0
        for i in coef.indices { for k in coef.indices { v += combo[i] * cov[i][k] * combo[k] } }
        #expect(close(fit.combination(combo).se, v.squareRoot(), rel: 1e-6))
    }

    @Test func clusteringByRowEqualsNoClusteringUpToTheCorrection() throws {
        // With one row per cluster the sandwich is the robust (HC0) covariance times n/(n-1) *
        // (n-1)/(n-p); at least it must differ from the model-based one and be finite.
        let c = Self.cases[0]
        let y = c["y"] as! [Double], columns = c["columns"] as! [[Double]]
        let own = try logisticRegression(columns: columns, y: y, clusters: Array(y.indices))
        let model = try logisticRegression(columns: columns, y: y)
        #expect(own.coef == model.coef)
        #expect(own.se.allSatisfy { $0.isFinite && $0 > 0 })
        #expect(model.clusters == nil && own.clusters == y.count)
    }

    @Test func oneClusterIsAnError() {
        #expect(throws: LogisticError.self) {
            try logisticRegression(columns: [[1, 2, 3, 4, 5, 2, 3]], y: [0, 1, 0, 1, 1, 0, 1], clusters: [Int](repeating: 4, count: 7))
        }
    }

    @Test func quasiSeparationIsReportedNotFitted() {
        // One predictor: the largest x with y=0 equals the smallest x with y=1.
        #expect(throws: LogisticError.self) {
            try logisticRegression(columns: [[1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11]], y: [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        }
        // Several predictors: a second column separates a subset perfectly.
        let x1: [Double] = (0..<40).map { Double($0 % 7) }
        let x2: [Double] = (0..<40).map { $0 < 10 ? 1 : 0 }
        let y: [Double] = (0..<40).map { $0 < 10 ? 1 : ($0 % 3 == 0 ? 1 : 0) }
        #expect(throws: LogisticError.self) { try logisticRegression(columns: [x1, x2], y: y) }
    }

    @Test func holmAndBenjaminiHochbergEqualStatsmodels() {
        let a = Self.reference["adjust"] as! [String: Any]
        let p = a["p"] as! [Double]
        for (method, key) in [(PAdjust.holm, "holm"), (.bh, "bh")] {
            let got = method.adjust(p), want = a[key] as! [Double]
            for i in p.indices { #expect(close(got[i], want[i], rel: 1e-12), "\(key) \(i): \(got[i]) vs \(want[i])") }
        }
        #expect(PAdjust.none.adjust(p) == p)
        // NaN (a test that could not be made) stays NaN and is not counted.
        let withNaN = PAdjust.holm.adjust([0.01, .nan, 0.04])
        #expect(withNaN[1].isNaN && close(withNaN[0], 0.02) && close(withNaN[2], 0.04))
    }
}

@Suite struct BootstrapEngineTests {
    @Test func weightedSlopeEqualsTheFitOnExpandedRows() throws {
        var rng = Xoshiro256(seed: 3)
        let n = 400
        let x = (0..<n).map { _ in Double(rng.next() % 1000) / 200 }
        let y = x.map { xi -> Double in Double(rng.next() % 1000) / 1000 < 1 / (1 + exp(-(-1 + 0.6 * xi))) ? 1 : 0 }
        let w = (0..<n).map { _ in Int32(rng.next() % 3) }
        var ex: [Double] = [], ey: [Double] = []
        for i in 0..<n { for _ in 0..<w[i] { ex.append(x[i]); ey.append(y[i]) } }
        let full = try logisticRegression(columns: [ex], y: ey)
        let fast = try #require(weightedLogisticSlope(x: x, y: y, weights: w))
        #expect(close(fast.intercept, full.coef[0], rel: 1e-8) && close(fast.slope, full.coef[1], rel: 1e-8))
        // Separated weighted data: nil, not a huge slope.
        #expect(weightedLogisticSlope(x: [1, 2, 3, 4], y: [0, 0, 1, 1], weights: [1, 1, 1, 1]) == nil)
    }

    @Test func strataKeepTheirSizeAndSeedsReproduce() {
        // Clusters 0..<5 in stratum 7, 5..<8 in stratum 9.
        let boot = ClusterBootstrap(stratum: [7, 7, 7, 7, 7, 9, 9, 9])
        let a = boot.run(resamples: 50, seed: 11) { w in [Double(w[0..<5].reduce(0, +)), Double(w[5..<8].reduce(0, +))] }
        #expect(a.allSatisfy { $0 == [5, 3] })
        let s1 = boot.run(resamples: 40, seed: 5) { w in w.map(Double.init) }
        let s2 = boot.run(resamples: 40, seed: 5) { w in w.map(Double.init) }
        let s3 = boot.run(resamples: 40, seed: 6) { w in w.map(Double.init) }
        #expect(s1 == s2 && s1 != s3)
    }

    @Test func percentileIntervalsAndPValues() {
        let v = (0..<101).map(Double.init)
        let i = percentileInterval(v)
        #expect(close(i.low, 2.5) && close(i.high, 97.5))
        // "Never" (+inf) in the upper tail makes the upper bound infinite; NaN is left out.
        let j = percentileInterval(v.map { $0 > 90 ? .infinity : $0 } + [.nan])
        #expect(j.high.isInfinite && close(j.low, 2.5) && j.valid == 101)
        #expect(close(bootstrapPValue((1...99).map(Double.init)), 1.0 / 100))
        #expect(close(bootstrapPValue((-50...49).map(Double.init)), 1))
    }
}
