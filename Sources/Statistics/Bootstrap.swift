/// xoshiro256** seeded through SplitMix64: a small, fast generator whose streams are the same on
/// every platform, so `--seed` reproduces bootstrap intervals exactly.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func next() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var r = z
            r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
            r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
            return r ^ (r >> 31)
        }
        s = (next(), next(), next(), next())
    }

    @inline(__always) static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }
}

/// A percentile bootstrap interval.
public struct BootstrapInterval: Sendable {
    public let low: Double
    public let high: Double
    /// Resamples whose statistic was defined (a resample can, say, have a constant outcome).
    public let valid: Int
    public let resamples: Int
}

/// Percentile bootstrap: `resamples` multinomial resamples of the observations, each passed to
/// every statistic as a weight vector; 2.5% and 97.5% points by numpy's linear quantile.
/// All statistics see the same resamples.
public func bootstrap(count n: Int, resamples: Int, seed: UInt64, level: Double = 0.95,
                      statistics: [([Int]) -> Double]) -> [BootstrapInterval] {
    var rng = Xoshiro256(seed: seed)
    var values = [[Double]](repeating: [], count: statistics.count)
    var w = [Int](repeating: 0, count: n)
    guard n > 0 else { return statistics.map { _ in BootstrapInterval(low: .nan, high: .nan, valid: 0, resamples: resamples) } }
    for _ in 0..<resamples {
        for i in 0..<n { w[i] = 0 }
        for _ in 0..<n { w[Int(rng.next(upperBound: UInt64(n)))] += 1 }
        for (k, f) in statistics.enumerated() {
            let v = f(w)
            if v.isFinite { values[k].append(v) }
        }
    }
    let a = (1 - level) / 2
    return values.map { v in
        let s = v.sorted()
        return BootstrapInterval(low: Quantile.linear(sorted: s, a), high: Quantile.linear(sorted: s, 1 - a),
                                 valid: s.count, resamples: resamples)
    }
}
