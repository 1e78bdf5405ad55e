#if canImport(Glibc)
import Glibc
#endif

/// A vocabulary's ids in byte order of their tokens (memcmp, then shorter first: SQLite's BINARY
/// collation), with every id's count and document frequency. Built on the thread that counted,
/// so several vocabularies sort at once; `mergeSorted` then walks them in one pass.
public final class SortedVocabulary: @unchecked Sendable {
    public let vocab: Vocabulary
    /// Ids in token order.
    public let order: UnsafeMutableBufferPointer<UInt32>
    public let counts: [UInt64]
    public let dfs: [UInt64]

    public init(_ v: Vocabulary) {
        vocab = v
        (counts, dfs) = v.countsById()
        // Sort (big-endian first 8 bytes, id) pairs; equal prefixes fall back to a full compare.
        var keys = [(UInt64, UInt32)]()
        keys.reserveCapacity(v.count)
        for id in 0..<UInt32(v.count) {
            keys.append((Self.prefix(v.token(id)), id))
        }
        keys.sort { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            return Self.less(v.token(a.1), v.token(b.1))
        }
        order = .allocate(capacity: keys.count)
        for (i, k) in keys.enumerated() { order[i] = k.1 }
    }

    deinit { order.deallocate() }

    @inline(__always) static func prefix(_ t: UnsafeRawBufferPointer) -> UInt64 {
        var p: UInt64 = 0
        for j in 0..<min(8, t.count) { p |= UInt64(t[j]) << UInt64(56 - 8 * j) }
        return p
    }

    /// Byte order with the shorter of two equal-prefix strings first.
    @inline(__always) public static func less(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, n)
        return c != 0 ? c < 0 : a.count < b.count
    }

    /// Visits the union of the vocabularies' tokens in byte order, with counts and document
    /// frequencies summed over them (vocabularies counted over disjoint documents), and the
    /// first vocabulary (and its id) that holds the token.
    public static func mergeSorted(_ parts: [SortedVocabulary],
                                   _ body: (UnsafeRawBufferPointer, UInt64, UInt64, Int, UInt32) throws -> Void) rethrows {
        let k = parts.count
        var pos = [Int](repeating: 0, count: k)
        var head = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: k)
        @inline(__always) func load(_ j: Int) {
            let p = parts[j]
            if pos[j] < p.order.count { head[j] = p.vocab.token(p.order[pos[j]]) }
        }
        for j in 0..<k { load(j) }
        while true {
            // The smallest current token (k is small: one per counting thread).
            var best = -1
            for j in 0..<k where pos[j] < parts[j].order.count {
                if best < 0 || less(head[j], head[best]) { best = j }
            }
            if best < 0 { return }
            let tok = head[best]
            let bid = parts[best].order[pos[best]]
            var count: UInt64 = 0, df: UInt64 = 0
            for j in best..<k where pos[j] < parts[j].order.count {
                // Not smaller than the best, and the best is not greater: the same token.
                if j == best || !less(tok, head[j]) {
                    let p = parts[j]
                    let id = Int(p.order[pos[j]])
                    count &+= p.counts[id]
                    df &+= p.dfs[id]
                    pos[j] += 1
                    load(j)
                }
            }
            try body(tok, count, df, best, bid)
        }
    }
}
