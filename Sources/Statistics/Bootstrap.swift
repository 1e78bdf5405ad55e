import Dispatch

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

/// A bootstrap over clusters (questions) stratified by pattern: each cluster has a stratum (for
/// example, which models or conditions answered it), and every resample draws, within each
/// stratum, as many clusters as it holds, with replacement. Rows inherit their cluster's weight.
/// Questions answered by both sides of a comparison are resampled together (a paired
/// bootstrap); questions only one side answered are resampled within that side (independent).
///
/// Resamples run in `chunks` fixed slices, each with its own generator seeded from `seed` and the
/// slice number, on all cores; results are identical for a seed whatever the core count.
public struct ClusterBootstrap: Sendable {
    let strata: [[Int32]]
    public let clusterCount: Int

    /// `stratum[c]` is any hashable label per cluster, mapped to dense ids in order of first use.
    public init(stratum: [Int]) {
        clusterCount = stratum.count
        var slot: [Int: Int] = [:]
        var s: [[Int32]] = []
        for (c, label) in stratum.enumerated() {
            let k: Int
            if let v = slot[label] { k = v } else { k = s.count; slot[label] = k; s.append([]) }
            s[k].append(Int32(c))
        }
        strata = s
    }

    /// Calls `statistics` with the cluster weights of each resample; returns one vector of
    /// statistics per resample (in resample order).
    public func run(resamples: Int, seed: UInt64, chunks: Int = 16,
                    statistics: @Sendable @escaping (_ weights: [Int32]) -> [Double]) -> [[Double]] {
        guard resamples > 0 else { return [] }
        let chunks = max(1, min(chunks, resamples))
        let results = ResultSlots(resamples)
        let strata = self.strata, q = clusterCount
        let per = (resamples + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var rng = Xoshiro256(seed: seed &+ UInt64(chunk) &* 0x9E37_79B9_7F4A_7C15)
            var w = [Int32](repeating: 0, count: q)
            let lo = chunk * per, hi = min(resamples, lo + per)
            guard lo < hi else { return }
            for r in lo..<hi {
                for i in 0..<q { w[i] = 0 }
                for members in strata {
                    let m = UInt64(members.count)
                    for _ in 0..<members.count { w[Int(members[Int(rng.next(upperBound: m))])] += 1 }
                }
                results.set(r, statistics(w))
            }
        }
        return results.values
    }
}

/// Percentile interval of values that may hold +infinity ("never"), by numpy's linear quantile;
/// NaN values (undefined statistics) are left out and counted as invalid.
public func percentileInterval(_ values: [Double], level: Double = 0.95) -> BootstrapInterval {
    let s = values.filter { !$0.isNaN }.sorted()
    let a = (1 - level) / 2
    func q(_ p: Double) -> Double {
        guard !s.isEmpty else { return .nan }
        let h = Double(s.count - 1) * p
        let lo = Int(h.rounded(.down)), hi = min(s.count - 1, lo + 1)
        let f = h - Double(lo)
        if f == 0 { return s[lo] }
        // Only +infinity occurs; interpolating toward it gives it.
        if s[hi].isInfinite { return s[hi] }
        return s[lo] + (s[hi] - s[lo]) * f
    }
    return BootstrapInterval(low: q(a), high: q(1 - a), valid: s.count, resamples: values.count)
}

/// Two-sided bootstrap p-value of "the statistic is 0": the share of valid resamples on the far
/// side of 0, doubled, with the (1 + k)/(B + 1) correction so that it is never 0.
public func bootstrapPValue(_ values: [Double]) -> Double {
    let v = values.filter { $0.isFinite }
    guard !v.isEmpty else { return .nan }
    let below = v.filter { $0 <= 0 }.count, above = v.filter { $0 >= 0 }.count
    return min(1, Double(1 + 2 * min(below, above)) / Double(v.count + 1))
}

/// Per-resample results written from several threads, each slot by exactly one of them; read
/// after the threads have joined.
final class ResultSlots: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<[Double]>
    init(_ n: Int) {
        storage = .allocate(capacity: n)
        storage.initialize(repeating: [])
    }
    deinit {
        _ = storage.deinitialize()
        storage.deallocate()
    }
    func set(_ i: Int, _ v: [Double]) { storage[i] = v }
    var values: [[Double]] { Array(storage) }
}
