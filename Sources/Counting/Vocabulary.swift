/// Token bytes -> dense ids (0, 1, 2, ...), with each token's exact occurrence count and
/// document frequency. Ids follow first appearance, so a single-threaded tokenizer gives the same
/// ids for the same input.
///
/// Keys are compared byte for byte on every hit: two different byte strings never share an id.
/// - Complexity: `intern` O(token length) expected. Memory per type is its bytes plus about
///   40 bytes (offsets, hash, counts, slots).
public final class Vocabulary: @unchecked Sendable {
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCap: Int
    private var arenaUsed = 0
    private var starts: UnsafeMutablePointer<Int>   // starts[id] ... starts[id+1]
    /// count, document frequency and last document of each id, side by side (one cache line).
    private var stats: UnsafeMutablePointer<TokenStats>
    private var cap: Int
    public private(set) var count = 0
    /// High 32 bits: the token's hash; low 32 bits: id + 1 (0 = empty). A probe compares hashes
    /// without touching the token's bytes.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotMask: Int

    struct TokenStats {
        var count: UInt64
        var df: UInt64
        var lastDoc: UInt64
    }

    /// Occurrences of token `id`.
    @inline(__always) public func count(of id: UInt32) -> UInt64 { stats[Int(id)].count }
    /// Documents containing token `id`.
    @inline(__always) public func df(of id: UInt32) -> UInt64 { stats[Int(id)].df }

    public init() {
        cap = 1 << 14
        arenaCap = 1 << 18
        arena = .allocate(capacity: arenaCap)
        starts = .allocate(capacity: cap + 1)
        starts[0] = 0
        stats = .allocate(capacity: cap)
        slots = .allocate(capacity: cap * 2)
        slots.initialize(repeating: 0, count: cap * 2)
        slotMask = cap * 2 - 1
    }

    deinit {
        arena.deallocate(); starts.deallocate(); stats.deallocate(); slots.deallocate()
    }

    /// Bytes held, for the memory budget.
    public var allocatedBytes: Int { arenaCap + cap * (8 + MemoryLayout<TokenStats>.stride) + (slotMask + 1) * 8 }

    /// The bytes of token `id`.
    @inline(__always) public func token(_ id: UInt32) -> UnsafeRawBufferPointer {
        let s = starts[Int(id)], e = starts[Int(id) + 1]
        return UnsafeRawBufferPointer(start: arena + s, count: e - s)
    }

    public func string(_ id: UInt32) -> String { String(decoding: token(id), as: UTF8.self) }

    /// The id of `bytes`, or nil when the token was never seen.
    public func lookup(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        let h = hashBytes(bytes.baseAddress ?? UnsafeRawPointer(arena), bytes.count)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let id = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                if equal(id, bytes) { return UInt32(id) }
            }
            i = (i + 1) & slotMask
        }
    }

    @inline(__always) private func equal(_ id: Int, _ b: UnsafeRawBufferPointer) -> Bool {
        let s = starts[id], len = starts[id + 1] - s
        guard len == b.count else { return false }
        if len <= 16 {
            // Most tokens are short: compare in place rather than calling memcmp.
            let a = arena + s
            for k in 0..<len where a[k] != b.load(fromByteOffset: k, as: UInt8.self) { return false }
            return true
        }
        return memcmp(arena + s, b.baseAddress!, len) == 0
    }

    /// The id of `bytes`, adding the token if it is new.
    @inline(__always) public func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let h = hashBytes(bytes.baseAddress ?? UnsafeRawPointer(arena), bytes.count)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let s = slots[i]
            if s == 0 { break }
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let id = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                if equal(id, bytes) { return UInt32(id) }
            }
            i = (i + 1) & slotMask
        }
        return insert(bytes, tag, slot: i)
    }

    /// Interns `bytes` and counts one occurrence in document `doc` (a number that grows per
    /// document), in one probe: the hot path of indexing.
    @inline(__always) public func count(_ bytes: UnsafeRawBufferPointer, doc: UInt64) -> UInt32 {
        let id = intern(bytes)
        let st = stats + Int(id)
        st.pointee.count &+= 1
        if st.pointee.lastDoc != doc {
            st.pointee.lastDoc = doc
            st.pointee.df &+= 1
        }
        return id
    }

    private func insert(_ bytes: UnsafeRawBufferPointer, _ tag: UInt64, slot: Int) -> UInt32 {
        precondition(count < Int(UInt32.max - 1), "more than 4 billion distinct tokens")
        if arenaUsed + bytes.count > arenaCap {
            let nc = max(arenaCap * 2, arenaUsed + bytes.count)
            let na = UnsafeMutablePointer<UInt8>.allocate(capacity: nc)
            na.update(from: arena, count: arenaUsed)
            arena.deallocate()
            arena = na
            arenaCap = nc
        }
        if bytes.count > 0 { (arena + arenaUsed).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        arenaUsed += bytes.count
        let id = count
        starts[id + 1] = arenaUsed
        stats[id] = TokenStats(count: 0, df: 0, lastDoc: UInt64.max)
        count += 1
        var slot = slot
        if count * 4 > (slotMask + 1) * 3 {
            growSlots()
            slot = -1
        }
        if slot >= 0 { slots[slot] = tag | UInt64(id + 1) } else { placeSlot(id) }
        if count == cap { growArrays() }
        return UInt32(id)
    }

    private func placeSlot(_ id: Int) {
        let h = hashBytesOf(id)
        var i = Int(truncatingIfNeeded: h) & slotMask
        while slots[i] != 0 { i = (i + 1) & slotMask }
        slots[i] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(id + 1)
    }

    private func hashBytesOf(_ id: Int) -> UInt64 {
        let s = starts[id], e = starts[id + 1]
        return hashBytes(UnsafeRawPointer(arena + s), e - s)
    }

    private func growSlots() {
        let n = (slotMask + 1) * 2
        slots.deallocate()
        slots = .allocate(capacity: n)
        slots.initialize(repeating: 0, count: n)
        slotMask = n - 1
        for id in 0..<count { placeSlot(id) }
    }

    private func growArrays() {
        let nc = cap * 2
        func re<T>(_ p: inout UnsafeMutablePointer<T>, _ keep: Int, _ newCap: Int) {
            let np = UnsafeMutablePointer<T>.allocate(capacity: newCap)
            np.moveInitialize(from: p, count: keep)
            p.deallocate()
            p = np
        }
        re(&starts, count + 1, nc + 1)
        re(&stats, count, nc)
        cap = nc
    }

    /// Adds counts summed elsewhere (merging indexes).
    public func addCounted(_ id: UInt32, count c: UInt64, df: UInt64) {
        stats[Int(id)].count &+= c
        stats[Int(id)].df &+= df
    }
}

#if canImport(Glibc)
import Glibc
#endif
