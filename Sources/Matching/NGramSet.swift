import Counting

/// A set of token-id n-grams of one length n, found in a document with a rolling hash: each
/// position costs two multiplies and one probe, and a hash hit is verified against the stored
/// ids, so a match is exact. Positions whose window holds a token no n-gram has are skipped.
package final class NGramSet: @unchecked Sendable {
    package let n: Int
    private let ids: [Int32]          // pattern p: ids[p*n ..< (p+1)*n]
    private let keys: [UInt64]
    private let values: [Int32]
    private let mask: Int
    private let power: UInt64         // B^n
    static let base: UInt64 = 0x100_0000_01B3

    package init(n: Int, patterns: [[UInt32]]) {
        self.n = n
        var cap = 16
        while cap < patterns.count * 2 { cap <<= 1 }
        mask = cap - 1
        var ks = [UInt64](repeating: 0, count: cap), vs = [Int32](repeating: -1, count: cap)
        var flat: [Int32] = []
        flat.reserveCapacity(patterns.count * n)
        for (p, g) in patterns.enumerated() {
            precondition(g.count == n)
            var h: UInt64 = 0
            for t in g { h = h &* Self.base &+ UInt64(t) &+ 1; flat.append(Int32(t)) }
            var i = Int(truncatingIfNeeded: mix64(h)) & mask
            while vs[i] >= 0 { i = (i + 1) & mask }
            ks[i] = h; vs[i] = Int32(p)
        }
        var pw: UInt64 = 1
        for _ in 0..<n { pw = pw &* Self.base }
        power = pw
        ids = flat; keys = ks; values = vs
    }

    /// The first pattern occurring in `doc[0..<count]` (ids: negative for tokens no pattern has), or -1.
    package func first(in doc: UnsafePointer<Int32>, count m: Int) -> Int32 {
        guard m >= n else { return -1 }
        var h: UInt64 = 0
        var run = 0
        return ids.withUnsafeBufferPointer { ids in
            keys.withUnsafeBufferPointer { keys in
                values.withUnsafeBufferPointer { values in
                    for i in 0..<m {
                        let t = doc[i]
                        if t < 0 { run = 0; h = 0; continue }
                        h = h &* Self.base &+ UInt64(t) &+ 1
                        run += 1
                        if run > n { h = h &- (UInt64(doc[i - n]) &+ 1) &* power }
                        if run < n { continue }
                        var s = Int(truncatingIfNeeded: mix64(h)) & mask
                        while true {
                            let v = values[s]
                            if v < 0 { break }
                            if keys[s] == h {
                                let base = Int(v) * n
                                var same = true
                                for k in 0..<n where ids[base + k] != doc[i - n + 1 + k] { same = false; break }
                                if same { return v }
                            }
                            s = (s + 1) & mask
                        }
                    }
                    return -1
                }
            }
        }
    }
}
