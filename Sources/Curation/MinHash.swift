import Counting

#if canImport(Glibc)
import Glibc
#endif

/// A seeded 64-bit hash of a token's bytes.
@inline(__always) func hashBytes64(_ b: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
    hashBytes(b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count, seed: seed)
}

/// A uniform number in [0, 1) determined by a seed and two integers (53 bits of a mixed hash),
/// so that a random draw does not depend on threads or on the order of work.
@inline(__always) func uniform(seed: UInt64, _ a: UInt64, _ b: UInt64) -> Double {
    let h = mix64(mix64(seed ^ 0x2545_F491_4F6C_DD1D) ^ mix64(a &+ 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xD6E8_FEB8_6659_FD93))
    return Double(h >> 11) * 0x1p-53
}

/// A deterministic stream of 64-bit values (splitmix64) for parameters drawn from a seed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }
}

/// MinHash parameters: `perms` hash functions h_i(x) = high 32 bits of (a_i * x + b_i) mod 2^64
/// over 64-bit shingle hashes (a_i odd), split into `bands` bands of `rows` rows for LSH.
public struct MinHashParams: Sendable, Equatable {
    public let threshold: Double
    public let shingle: Int
    public let perms: Int
    public let bands: Int
    public let rows: Int
    public let seed: UInt64

    public init(threshold: Double, shingle: Int, perms: Int, seed: UInt64, bands: Int? = nil) {
        self.threshold = threshold
        self.shingle = shingle
        self.seed = seed
        let (b, r) = bands.map { ($0, perms / $0) } ?? Self.optimalBands(threshold: threshold, perms: perms)
        self.bands = b
        self.rows = r
        self.perms = b * r
    }

    /// The probability that two documents of Jaccard similarity `s` share at least one band.
    public static func candidateProbability(_ s: Double, bands b: Int, rows r: Int) -> Double {
        1 - pow(1 - pow(s, Double(r)), Double(b))
    }

    /// Chooses (bands, rows) with bands x rows <= perms minimizing a weighted sum of the
    /// false-positive area (candidate probability below the threshold) and the false-negative
    /// area (one minus it above), integrated numerically over s. Every candidate is verified by
    /// its full signature, so a false positive costs only a comparison while a false negative is
    /// a missed duplicate: the weights are 0.1 and 0.9 (datasketch's default is 0.5 and 0.5).
    public static func optimalBands(threshold t: Double, perms: Int) -> (Int, Int) {
        func integrate(_ f: (Double) -> Double, _ a: Double, _ b: Double) -> Double {
            let n = 200
            let h = (b - a) / Double(n)
            var s = 0.5 * (f(a) + f(b))
            for i in 1..<n { s += f(a + Double(i) * h) }
            return s * h
        }
        var best = (1, perms)
        var bestErr = Double.infinity
        for b in 1...perms {
            for r in 1...(perms / b) {
                let fp = integrate({ candidateProbability($0, bands: b, rows: r) }, 0, t)
                let fn = integrate({ 1 - candidateProbability($0, bands: b, rows: r) }, t, 1)
                let err = 0.1 * fp + 0.9 * fn
                if err < bestErr - 1e-12 { bestErr = err; best = (b, r) }
            }
        }
        return best
    }
}

/// Computes MinHash signatures of documents given as token hashes. One per worker thread.
final class MinHasher {
    let p: MinHashParams
    private let a: UnsafeMutablePointer<UInt64>
    private let b: UnsafeMutablePointer<UInt64>

    init(_ p: MinHashParams) {
        self.p = p
        a = .allocate(capacity: p.perms)
        b = .allocate(capacity: p.perms)
        var rng = SplitMix64(state: p.seed ^ 0x5EED_0F_3A1C)
        for i in 0..<p.perms {
            a[i] = rng.next() | 1
            b[i] = rng.next()
        }
    }

    deinit { a.deallocate(); b.deallocate() }

    /// The hash of the shingle of `k` tokens starting at `i`.
    @inline(__always) static func shingleHash(_ h: UnsafePointer<UInt64>, _ i: Int, _ k: Int) -> UInt64 {
        var s: UInt64 = 0x51_7CC1_B727_220A ^ UInt64(k)
        for j in 0..<k { s = mix64(s ^ h[i + j]) }
        return s
    }

    /// Writes the signature of the document whose token hashes are `h[0..<n]` into `out`. A
    /// document shorter than one shingle is one shingle of all its tokens; an empty document has
    /// no signature (returns false).
    func signature(_ h: UnsafePointer<UInt64>, _ n: Int, into out: UnsafeMutablePointer<UInt32>) -> Bool {
        guard n > 0 else { return false }
        let perms = p.perms
        for i in 0..<perms { out[i] = UInt32.max }
        let k = min(p.shingle, n)
        for i in 0...(n - k) {
            let s = Self.shingleHash(h, i, k)
            for j in 0..<perms {
                let v = UInt32(truncatingIfNeeded: (a[j] &* s &+ b[j]) >> 32)
                if v < out[j] { out[j] = v }
            }
        }
        return true
    }
}

/// The LSH index of the documents kept so far: one bucket table per band, and the signatures
/// themselves so that candidates are checked by their estimated Jaccard similarity.
/// Memory: 4 x perms bytes plus about 20 bytes per band for each document added.
final class LSHIndex {
    let p: MinHashParams
    private var signatures: [UInt32] = []
    private var docs: [Int64] = []
    private var heads: [[UInt64: Int32]]
    private var nextInBucket: [Int32] = []   // per (member, band)
    private var stamp: [Int32] = []
    private var stampValue: Int32 = 0

    init(_ p: MinHashParams) {
        self.p = p
        heads = Array(repeating: [:], count: p.bands)
    }


    @inline(__always) private func bandKey(_ sig: UnsafePointer<UInt32>, _ band: Int) -> UInt64 {
        var h: UInt64 = UInt64(band) &* 0x9E37_79B9_7F4A_7C15
        let r = p.rows
        for j in 0..<r { h = mix64(h ^ UInt64(sig[band * r + j])) }
        return h
    }

    /// The kept document most similar to `sig` among the LSH candidates, when its estimated
    /// Jaccard similarity is at least the threshold: (its ordinal, the estimate).
    func query(_ sig: UnsafePointer<UInt32>) -> (doc: Int64, similarity: Double)? {
        stampValue &+= 1
        if stamp.count < docs.count { stamp.append(contentsOf: repeatElement(0, count: docs.count - stamp.count)) }
        var best: (Int64, Double)? = nil
        let perms = p.perms
        signatures.withUnsafeBufferPointer { all in
            for band in 0..<p.bands {
                var m = heads[band][bandKey(sig, band)] ?? -1
                while m >= 0 {
                    let member = Int(m)
                    if stamp[member] != stampValue {
                        stamp[member] = stampValue
                        var same = 0
                        let base = member * perms
                        for j in 0..<perms where all[base + j] == sig[j] { same += 1 }
                        let est = Double(same) / Double(perms)
                        if est >= p.threshold, best == nil || est > best!.1 { best = (docs[member], est) }
                    }
                    m = nextInBucket[member * p.bands + band]
                }
            }
        }
        return best
    }

    func add(_ sig: UnsafePointer<UInt32>, doc: Int64) {
        let member = Int32(docs.count)
        docs.append(doc)
        signatures.append(contentsOf: UnsafeBufferPointer(start: sig, count: p.perms))
        for band in 0..<p.bands {
            let k = bandKey(sig, band)
            nextInBucket.append(heads[band][k] ?? -1)
            heads[band][k] = member
        }
    }
}

