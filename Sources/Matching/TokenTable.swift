import CPrefetch
import Counting

#if canImport(Glibc)
import Glibc
#endif

/// The lookup of `TokenMatcher.match(_:)`: the bytes of every token some pattern has -> its id,
/// the automaton's state after reading it from the root and that state's pattern, and whether it
/// occurs after a pattern's first token (only then can a state other than the root have a
/// transition on it).
///
/// Small by construction (the patterns' tokens, not a corpus vocabulary) and read by every token
/// of a corpus, most of which it does not hold, so it is laid out for that: an open-addressing
/// table of 32-byte entries, keyed by a token's first 16 bytes and its length, hashed with one
/// 64x64->128-bit multiply. A lookup is two masked word loads, the multiply, and usually one entry
/// compare; bytes past the 16th are compared only for tokens longer than 16 bytes whose first 16
/// bytes and length match. The table is at most an eighth full while it stays under 16 MiB (at
/// most half full beyond): then the first slot probed almost always holds the token or is empty,
/// and `entry(_:)` decides both with one branch that is rarely mispredicted, whether or not
/// the token is there (a corpus token is a pattern token at random, as far as a branch predictor
/// can tell).
///
/// Keys are compared byte for byte on every hit: two different byte strings never share an entry.
struct TokenTable {
    struct Entry {
        var k0: UInt64, k1: UInt64
        /// 0 when empty; else length << 40 | deep << 39 | (id + 1), where deep is 1 when the
        /// token occurs after the first token of some pattern.
        var meta: UInt64
        /// The automaton's state after this token from the root (0: no pattern starts with it).
        var root: Int32
        /// The only pattern that ends in state `root`, -1 when none does, -2 when several do.
        var out: Int32

        @inline(__always) var id: UInt32 { UInt32(truncatingIfNeeded: meta) &- 1 }
        @inline(__always) var deep: Bool { meta & (1 << 39) != 0 }
    }

    /// Pattern tokens are shorter than this (the entry's length field has 24 bits).
    static let maxLength = 1 << 24

    let entries: UnsafeMutablePointer<Entry>
    let mask: Int
    /// Every token's bytes, for the compare past 16 bytes: token `id` is `arena[starts[id] ..< starts[id + 1]]`.
    let arena: UnsafeMutablePointer<UInt8>
    let starts: UnsafeMutablePointer<Int>
    /// `keyMasks`, held here so the hot loop does not go through a global's lazy initializer.
    let masks: UnsafePointer<UInt64>

    /// Word masks by token length: row `min(len, 16)` keeps the token's bytes of each of the two
    /// key words.
    nonisolated(unsafe) static let keyMasks = keyWordMasks(words: 2)

    /// `tokens[id]`: the bytes of token `id`; `root[id]`, `out[id]`, `deep[id]`: see `Entry`.
    init(tokens: [[UInt8]], root: [Int32], out: [Int32], deep: [Bool]) {
        var cap = 16
        while cap < tokens.count * 8 { cap <<= 1 }
        if cap * MemoryLayout<Entry>.stride > 16 << 20 {
            cap = 16
            while cap < tokens.count * 2 { cap <<= 1 }
        }
        mask = cap - 1
        masks = Self.keyMasks
        // Aligned to 2 MiB and offered as a transparent huge page when that large: the probes are
        // random, and 4 KiB pages would add a TLB miss to many of them.
        let bytes = (cap + 1) * MemoryLayout<Entry>.stride
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, bytes >= 2 << 20 ? 2 << 20 : 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for the token table")
        }
        if bytes >= 2 << 20 { _ = madvise(raw, bytes, 14 /* MADV_HUGEPAGE */) }
        entries = raw.bindMemory(to: Entry.self, capacity: cap + 1)
        entries.initialize(repeating: Entry(k0: 0, k1: 0, meta: 0, root: 0, out: -1), count: cap + 1)
        let total = tokens.reduce(0) { $0 + $1.count }
        // 16 zero bytes after the last token, so every key loads with whole-word reads.
        arena = .allocate(capacity: total + 16)
        arena.initialize(repeating: 0, count: total + 16)
        starts = .allocate(capacity: tokens.count + 1)
        var at = 0
        for (id, t) in tokens.enumerated() {
            starts[id] = at
            for b in t { arena[at] = b; at += 1 }
        }
        starts[tokens.count] = at
        for (id, t) in tokens.enumerated() {
            let p = UnsafeRawPointer(arena + starts[id])
            let (k0, k1) = key(p, t.count)
            precondition(t.count < Self.maxLength, "a pattern token of \(t.count) bytes")
            precondition(find(p, t.count) == nil, "token \(id) appears twice")
            var i = Self.slot(k0, k1, t.count, mask)
            while entries[i].meta != 0 { i = (i + 1) & mask }
            entries[i] = Entry(k0: k0, k1: k1, meta: UInt64(t.count) << 40 | (deep[id] ? 1 << 39 : 0) | UInt64(id + 1),
                               root: root[id], out: out[id])
        }
    }

    func deallocate() {
        free(entries); arena.deallocate(); starts.deallocate()
    }

    /// The first 16 bytes of a token, zero-padded; 16 bytes from `p` must be readable.
    @inline(__always) func key(_ p: UnsafeRawPointer, _ len: Int) -> (UInt64, UInt64) {
        let m = masks + 2 * min(len, 16)
        return (p.loadUnaligned(fromByteOffset: 0, as: UInt64.self) & m[0],
                p.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & m[1])
    }

    @inline(__always) static func slot(_ k0: UInt64, _ k1: UInt64, _ len: Int, _ mask: Int) -> Int {
        let r = (k0 ^ 0xA076_1D64_78BD_642F).multipliedFullWidth(by: k1 ^ 0xE703_7ED1_A0B4_28DB ^ UInt64(truncatingIfNeeded: len))
        let h = r.high ^ r.low
        return Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
    }

    /// The entry of the `len` bytes at `p`, or nil when no pattern has that token. 16 bytes from
    /// `p` must be readable.
    @inline(__always) func find(_ p: UnsafeRawPointer, _ len: Int) -> UnsafeMutablePointer<Entry>? {
        let (k0, k1) = key(p, len)
        return find(k0, k1, p, len, Self.slot(k0, k1, len, mask))
    }

    /// `find` with the key and its first slot already computed (see `stage`).
    @inline(__always) func find(_ k0: UInt64, _ k1: UInt64, _ p: UnsafeRawPointer, _ len: Int, _ first: Int) -> UnsafeMutablePointer<Entry>? {
        // A corpus token of 2^24 bytes or more differs from every entry's length.
        let tag = UInt64(truncatingIfNeeded: len)
        var i = first
        while true {
            let e = entries + i
            let meta = e.pointee.meta
            if meta == 0 { return nil }
            if (e.pointee.k0 ^ k0) | (e.pointee.k1 ^ k1) | ((meta >> 40) ^ tag) == 0 {
                if len <= 16 { return e }
                if memcmp(arena + starts[Int(e.pointee.id)] + 16, p + 16, len - 16) == 0 { return e }
            }
            i = (i + 1) & mask
        }
    }

    /// A lookup staged ahead of its use: the key, the bytes and the first slot (prefetched).
    struct Probe {
        var k0: UInt64, k1: UInt64
        var p: UnsafeRawPointer
        var len: Int
        var slot: Int
    }

    /// Computes a token's key and first slot and prefetches the slot's entry.
    @inline(__always) func stage(_ p: UnsafeRawPointer, _ len: Int) -> Probe {
        let (k0, k1) = key(p, len)
        let i = Self.slot(k0, k1, len, mask)
        ts_prefetch(entries + i)
        return Probe(k0: k0, k1: k1, p: p, len: len, slot: i)
    }

    @inline(__always) func find(_ x: Probe) -> UnsafeMutablePointer<Entry>? { find(x.k0, x.k1, x.p, x.len, x.slot) }

    /// The empty entry past the last slot: root 0, out -1, not deep.
    @inline(__always) var missing: UnsafeMutablePointer<Entry> { entries + mask + 1 }

    /// `find`, but `missing` when no pattern has the token. The usual outcomes (the first slot
    /// holds the token, or is empty) take one branch that rarely goes the other way.
    @inline(__always) func entry(_ x: Probe) -> UnsafeMutablePointer<Entry> {
        let e = entries + x.slot
        let meta = e.pointee.meta
        let same = (e.pointee.k0 ^ x.k0) | (e.pointee.k1 ^ x.k1) | ((meta >> 40) ^ UInt64(truncatingIfNeeded: x.len)) == 0
        let hit = same && x.len <= 16
        if hit || meta == 0 { return hit ? e : missing }
        return find(x) ?? missing
    }
}
