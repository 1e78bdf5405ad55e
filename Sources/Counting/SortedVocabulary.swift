#if canImport(Glibc)
import Glibc
#endif

/// A vocabulary's tokens in byte order (memcmp, then shorter first: SQLite's BINARY collation),
/// copied into one contiguous array with their counts and document frequencies in the same
/// order. Built on the thread that counted, so several vocabularies sort at once; `mergeSorted`
/// then walks them in one sequential pass instead of jumping around each vocabulary's arena.
public final class SortedVocabulary: @unchecked Sendable {
    /// Position -> the token's id in the vocabulary it was built from.
    public let order: UnsafeMutableBufferPointer<UInt32>
    /// Position -> the token's first 8 bytes, big-endian, zero-padded (orders most pairs with
    /// one integer compare).
    let prefixes: UnsafeMutableBufferPointer<UInt64>
    /// Position -> count and document frequency.
    public let counts: UnsafeMutableBufferPointer<UInt64>
    public let dfs: UnsafeMutableBufferPointer<UInt64>
    /// Token bytes in order: position i is `bytes[starts[i] ..< starts[i + 1]]`.
    private let bytes: UnsafeMutablePointer<UInt8>
    private let starts: UnsafeMutableBufferPointer<Int>

    public var count: Int { order.count }

    public init(_ v: Vocabulary) {
        let n = v.count
        let (byId, dfById) = v.countsById()
        // Sort (big-endian first 8 bytes, id) pairs; equal prefixes fall back to a full compare.
        var keys = [(UInt64, UInt32)]()
        keys.reserveCapacity(n)
        for id in 0..<UInt32(n) {
            keys.append((Self.prefix(v.token(id)), id))
        }
        keys.sort { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            return Self.less(v.token(a.1), v.token(b.1))
        }
        order = .allocate(capacity: n)
        prefixes = .allocate(capacity: n)
        counts = .allocate(capacity: n)
        dfs = .allocate(capacity: n)
        starts = .allocate(capacity: n + 1)
        var total = 0
        for id in 0..<n { total += v.token(UInt32(id)).count }
        bytes = .allocate(capacity: max(total, 1))
        var at = 0
        for (i, k) in keys.enumerated() {
            let t = v.token(k.1)
            order[i] = k.1
            prefixes[i] = k.0
            counts[i] = byId[Int(k.1)]
            dfs[i] = dfById[Int(k.1)]
            starts[i] = at
            if t.count > 0 { memcpy(bytes + at, t.baseAddress!, t.count) }
            at += t.count
        }
        starts[n] = at
    }

    deinit {
        order.deallocate(); prefixes.deallocate(); counts.deallocate(); dfs.deallocate()
        starts.deallocate(); bytes.deallocate()
    }

    /// The bytes of the token at `position` in byte order.
    @inline(__always) public func token(at position: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + starts[position], count: starts[position + 1] - starts[position])
    }

    public func string(at position: Int) -> String { String(decoding: token(at: position), as: UTF8.self) }

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

    /// Whether the token at position `i` sorts before the one at position `j` of `other`.
    @inline(__always) func less(_ i: Int, _ other: SortedVocabulary, _ j: Int) -> Bool {
        let a = prefixes[i], b = other.prefixes[j]
        if a != b { return a < b }
        return Self.less(token(at: i), other.token(at: j))
    }

    /// Visits the union of the vocabularies' tokens in byte order, with counts and document
    /// frequencies summed over them (vocabularies counted over disjoint documents), and the
    /// first vocabulary that holds the token with the token's position in it.
    public static func mergeSorted(_ parts: [SortedVocabulary],
                                   _ body: (UnsafeRawBufferPointer, UInt64, UInt64, Int, Int) throws -> Void) rethrows {
        let k = parts.count
        var pos = [Int](repeating: 0, count: k)
        while true {
            // The smallest current token (k is small: one per counting thread).
            var best = -1
            for j in 0..<k where pos[j] < parts[j].count {
                if best < 0 || parts[j].less(pos[j], parts[best], pos[best]) { best = j }
            }
            if best < 0 { return }
            let bp = parts[best], at = pos[best]
            var count: UInt64 = 0, df: UInt64 = 0
            for j in best..<k where pos[j] < parts[j].count {
                // Not smaller than the best, and the best is not greater: the same token.
                if j == best || !bp.less(at, parts[j], pos[j]) {
                    count &+= parts[j].counts[pos[j]]
                    df &+= parts[j].dfs[pos[j]]
                    pos[j] += 1
                }
            }
            try body(bp.token(at: at), count, df, best, at)
        }
    }
}
