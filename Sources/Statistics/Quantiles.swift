/// Quantiles, bins and proportion intervals.
public enum Quantile {
    /// numpy's linear interpolation between neighbours (the same arithmetic, so results agree
    /// to the last bit in the common cases).
    @inline(__always) static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        let d = b - a
        return t >= 0.5 ? b - d * (1 - t) : a + d * t
    }

    /// numpy.quantile(values, q) with the default linear method; `sorted` must be ascending.
    public static func linear(sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let h = Double(sorted.count - 1) * q
        let lo = Int(h.rounded(.down))
        let frac = h - Double(lo)
        if frac == 0 || lo + 1 >= sorted.count { return sorted[min(lo, sorted.count - 1)] }
        return lerp(sorted[lo], sorted[lo + 1], frac)
    }
}

/// Wilson score interval for a proportion (statsmodels `proportion_confint(method="wilson")`).
/// `successes` may be fractional when outcomes are scores in [0, 1].
public func wilsonInterval(successes: Double, n: Int, z: Double = Distribution.z975) -> (lo: Double, hi: Double) {
    guard n > 0 else { return (.nan, .nan) }
    let nd = Double(n), p = successes / nd, z2 = z * z
    let denom = 1 + z2 / nd
    let center = (p + z2 / (2 * nd)) / denom
    let half = z / denom * (p * (1 - p) / nd + z2 / (4 * nd * nd)).squareRoot()
    return (center - half, center + half)
}

/// One bin of a binned-accuracy table.
public struct Bin: Sendable, Equatable {
    /// Edges on the feature axis: the bin holds lo < x <= hi (the first bin also holds x == lo).
    public let lo: Double
    public let hi: Double
    public let n: Int
    public let mean: Double
    public let ciLow: Double
    public let ciHigh: Double
    public let meanX: Double
}

public enum BinScheme: String, Sendable, CaseIterable {
    /// Edges at the quantiles i/B of x, duplicates dropped (pandas `qcut(duplicates="drop")`).
    case quantile
    /// B equal-width bins between min and max of x; on x = log10(count+1) they are log-spaced in count.
    case log
}

/// Bins x into `bins` bins and reports the mean of y in each with a Wilson 95% interval.
/// Empty bins are left out.
public func binnedMeans(x: [Double], y: [Double], bins: Int, scheme: BinScheme) -> [Bin] {
    precondition(x.count == y.count && bins >= 1)
    guard !x.isEmpty else { return [] }
    let sorted = x.sorted()
    var edges: [Double]
    switch scheme {
    case .quantile:
        edges = (0...bins).map { Quantile.linear(sorted: sorted, Double($0) / Double(bins)) }
    case .log:
        let a = sorted.first!, b = sorted.last!
        edges = (0...bins).map { i in i == bins ? b : a + (b - a) * Double(i) / Double(bins) }
    }
    var unique: [Double] = []
    for e in edges where unique.last != e { unique.append(e) }
    edges = unique
    if edges.count == 1 { edges.append(edges[0]) }
    let k = edges.count - 1
    var n = [Int](repeating: 0, count: k), s = [Double](repeating: 0, count: k), sx = [Double](repeating: 0, count: k)
    for i in 0..<x.count {
        // The first edge index e with x <= edges[e], minus one; the first bin takes x == lo.
        var lo = 1, hi = k
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[i] <= edges[mid] { hi = mid } else { lo = mid + 1 }
        }
        let b = lo - 1
        n[b] += 1; s[b] += y[i]; sx[b] += x[i]
    }
    var out: [Bin] = []
    for b in 0..<k where n[b] > 0 {
        let ci = wilsonInterval(successes: s[b], n: n[b])
        out.append(Bin(lo: edges[b], hi: edges[b + 1], n: n[b], mean: s[b] / Double(n[b]),
                       ciLow: ci.lo, ciHigh: ci.hi, meanX: sx[b] / Double(n[b])))
    }
    return out
}

/// Ordinary least squares of y on one x: intercept, slope and R² (R² is 1 when y is constant).
/// Nil with fewer than two points or no variation in x.
public func simpleRegression(_ x: [Double], _ y: [Double]) -> (intercept: Double, slope: Double, r2: Double)? {
    precondition(x.count == y.count)
    guard x.count >= 2 else { return nil }
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxx = 0.0, sxy = 0.0, syy = 0.0
    for i in x.indices {
        sxx += (x[i] - mx) * (x[i] - mx); sxy += (x[i] - mx) * (y[i] - my); syy += (y[i] - my) * (y[i] - my)
    }
    guard sxx > 0 else { return nil }
    let b = sxy / sxx
    return (my - b * mx, b, syy > 0 ? sxy * sxy / (sxx * syy) : 1)
}
