/// Paired observations (x, y), sorted and ranked once so that every statistic here can be
/// evaluated for integer observation weights in O(n) or O(n log n) without sorting again.
///
/// A weight vector is how often each observation occurs: all ones is the sample itself, and a
/// bootstrap resample is the multinomial counts of n draws. Every statistic equals the ordinary
/// one computed on the sample expanded by its weights (the tests check this against expanded
/// arrays), so ties are handled exactly as scipy handles them.
public struct PairedSample: Sendable {
    /// Number of observations.
    public let count: Int
    /// x ascending; ties in x ordered by y ascending.
    public let x: [Double]
    /// y in the same order as `x`.
    public let y: [Double]
    /// For each sorted position, where that observation was in the input.
    public let inputIndex: [Int]
    /// Starts of runs of equal x, plus `count` at the end.
    let xRuns: [Int]
    /// Dense rank of y (0 ..< yLevels) per sorted position.
    let yRank: [Int32]
    let yLevels: Int
    /// Sorted positions ordered by y ascending, and the starts of runs of equal y in it.
    let yOrder: [Int]
    let yRuns: [Int]

    public init(x xs: [Double], y ys: [Double]) {
        precondition(xs.count == ys.count)
        let n = xs.count
        count = n
        let order = (0..<n).sorted { xs[$0] < xs[$1] || (xs[$0] == xs[$1] && (ys[$0] < ys[$1] || (ys[$0] == ys[$1] && $0 < $1))) }
        inputIndex = order
        let sx = order.map { xs[$0] }, sy = order.map { ys[$0] }
        x = sx
        y = sy
        var runs: [Int] = []
        for i in 0..<n where i == 0 || sx[i] != sx[i - 1] { runs.append(i) }
        runs.append(n)
        xRuns = runs
        let yo = (0..<n).sorted { (sy[$0], $0) < (sy[$1], $1) }
        yOrder = yo
        var yr = [Int32](repeating: 0, count: n)
        var yruns: [Int] = []
        var level: Int32 = -1
        for (k, i) in yo.enumerated() {
            if k == 0 || sy[i] != sy[yo[k - 1]] { level += 1; yruns.append(k) }
            yr[i] = level
        }
        yruns.append(n)
        yRank = yr
        yRuns = yruns
        yLevels = Int(level + 1)
    }

    /// Weights of the sample itself.
    public var ones: [Int] { [Int](repeating: 1, count: count) }

    @inline(__always) static func total(_ w: [Int]) -> Int { w.reduce(0, +) }

    /// Pearson's r of x and y (NaN when either is constant).
    public func pearson(_ w: [Int]) -> Double {
        Self.weightedPearson(x, y, w)
    }

    static func weightedPearson(_ a: [Double], _ b: [Double], _ w: [Int]) -> Double {
        var n = 0.0, sa = 0.0, sb = 0.0
        for i in 0..<a.count where w[i] != 0 {
            let wi = Double(w[i]); n += wi; sa += wi * a[i]; sb += wi * b[i]
        }
        guard n >= 2 else { return .nan }
        let ma = sa / n, mb = sb / n
        var saa = 0.0, sbb = 0.0, sab = 0.0
        for i in 0..<a.count where w[i] != 0 {
            let wi = Double(w[i]), da = a[i] - ma, db = b[i] - mb
            saa += wi * da * da; sbb += wi * db * db; sab += wi * da * db
        }
        guard saa > 0, sbb > 0 else { return .nan }
        return max(-1, min(1, sab / (saa.squareRoot() * sbb.squareRoot())))
    }

    /// Average ranks (1-based, ties get the mean rank) of x and of y under the weights.
    func ranks(_ w: [Int]) -> (rx: [Double], ry: [Double]) {
        var rx = [Double](repeating: 0, count: count)
        var cum = 0
        for g in 0..<(xRuns.count - 1) {
            var t = 0
            for i in xRuns[g]..<xRuns[g + 1] { t += w[i] }
            let r = Double(cum) + Double(t + 1) / 2
            for i in xRuns[g]..<xRuns[g + 1] { rx[i] = r }
            cum += t
        }
        var ry = [Double](repeating: 0, count: count)
        cum = 0
        for g in 0..<(yRuns.count - 1) {
            var t = 0
            for k in yRuns[g]..<yRuns[g + 1] { t += w[yOrder[k]] }
            let r = Double(cum) + Double(t + 1) / 2
            for k in yRuns[g]..<yRuns[g + 1] { ry[yOrder[k]] = r }
            cum += t
        }
        return (rx, ry)
    }

    /// Spearman's rho: Pearson's r of the average ranks.
    public func spearman(_ w: [Int]) -> Double {
        let (rx, ry) = ranks(w)
        return Self.weightedPearson(rx, ry, w)
    }

    /// Kendall's tau-b with scipy's asymptotic test (normal approximation with the tie-corrected
    /// variance), which is the method scipy uses whenever there are ties.
    public func kendall(_ w: [Int]) -> (tau: Double, z: Double, p: Double) {
        var n: Int64 = 0
        for v in w { n += Int64(v) }
        guard n >= 2 else { return (.nan, .nan, .nan) }
        let tot = n * (n - 1) / 2
        var xtie: Int64 = 0, x0 = 0.0, x1 = 0.0, ntie: Int64 = 0
        var dis: Int64 = 0
        var tree = [Int64](repeating: 0, count: yLevels + 1)
        var added: Int64 = 0
        for g in 0..<(xRuns.count - 1) {
            let lo = xRuns[g], hi = xRuns[g + 1]
            var t: Int64 = 0
            var run: Int64 = 0
            for i in lo..<hi {
                let wi = Int64(w[i])
                t += wi
                // Joint ties: within an x run, y is ascending, so equal (x, y) are adjacent.
                if i > lo && y[i] != y[i - 1] { ntie += run * (run - 1) / 2; run = 0 }
                run += wi
                if wi != 0 {
                    // Earlier observations (smaller x) with a larger y are discordant.
                    var s: Int64 = 0
                    var k = Int(yRank[i]) + 1
                    while k > 0 { s += tree[k]; k -= k & -k }
                    dis += wi * (added - s)
                }
            }
            ntie += run * (run - 1) / 2
            for i in lo..<hi where w[i] != 0 {
                var k = Int(yRank[i]) + 1
                while k <= yLevels { tree[k] += Int64(w[i]); k += k & -k }
                added += Int64(w[i])
            }
            xtie += t * (t - 1) / 2
            let td = Double(t)
            x0 += td * (td - 1) * (td - 2); x1 += td * (td - 1) * (2 * td + 5)
        }
        var ytie: Int64 = 0, y0 = 0.0, y1 = 0.0
        for g in 0..<(yRuns.count - 1) {
            var t: Int64 = 0
            for k in yRuns[g]..<yRuns[g + 1] { t += Int64(w[yOrder[k]]) }
            ytie += t * (t - 1) / 2
            let td = Double(t)
            y0 += td * (td - 1) * (td - 2); y1 += td * (td - 1) * (2 * td + 5)
        }
        guard xtie != tot, ytie != tot else { return (.nan, .nan, .nan) }
        let cmd = Double(tot - xtie - ytie + ntie - 2 * dis)
        let tau = max(-1, min(1, cmd / Double(tot - xtie).squareRoot() / Double(tot - ytie).squareRoot()))
        let nd = Double(n), m = nd * (nd - 1)
        var variance = (m * (2 * nd + 5) - x1 - y1) / 18 + 2 * Double(xtie) * Double(ytie) / m
        if n > 2 { variance += x0 * y0 / (9 * m * (nd - 2)) }
        let z = cmd / variance.squareRoot()
        return (tau, z, Distribution.normalTwoSided(z))
    }

    /// numpy's default ("linear") quantile of x under the weights.
    public func quantileX(_ q: Double, _ w: [Int]) -> Double {
        let n = Self.total(w)
        guard n > 0 else { return .nan }
        let h = Double(n - 1) * q
        let lo = Int(h.rounded(.down))
        let frac = h - Double(lo)
        let a = expandedX(lo, w)
        guard frac > 0 else { return a }
        let b = expandedX(lo + 1, w)
        return Quantile.lerp(a, b, frac)
    }

    /// The k-th smallest x (0-based) of the sample expanded by its weights.
    func expandedX(_ k: Int, _ w: [Int]) -> Double {
        var cum = 0
        for i in 0..<count {
            cum += w[i]
            if cum > k { return x[i] }
        }
        return x[count - 1]
    }

    /// Mean y of the observations with x at or above the (1-q) quantile minus that of the
    /// observations with x at or below the q quantile. Ties at a threshold are all included, so
    /// each side can hold more than a q share of the sample.
    public func gap(_ q: Double, _ w: [Int]) -> (gap: Double, top: Int, bottom: Int, topMean: Double, bottomMean: Double) {
        let lo = quantileX(q, w), hi = quantileX(1 - q, w)
        var st = 0.0, nt = 0, sb = 0.0, nb = 0
        for i in 0..<count where w[i] != 0 {
            if x[i] >= hi { st += Double(w[i]) * y[i]; nt += w[i] }
            if x[i] <= lo { sb += Double(w[i]) * y[i]; nb += w[i] }
        }
        let mt = nt == 0 ? Double.nan : st / Double(nt)
        let mb = nb == 0 ? Double.nan : sb / Double(nb)
        return (mt - mb, nt, nb, mt, mb)
    }
}

/// Two-sided p-value of a correlation coefficient r from n pairs (Student's t, n-2 df): the test
/// scipy's `pearsonr` and `spearmanr` report.
public func correlationPValue(_ r: Double, n: Int) -> Double {
    guard n > 2, r.isFinite else { return .nan }
    if abs(r) >= 1 { return 0 }
    let df = Double(n - 2)
    let t = r * (df / ((1 - r) * (1 + r))).squareRoot()
    return Distribution.studentTwoSided(t, df: df)
}
