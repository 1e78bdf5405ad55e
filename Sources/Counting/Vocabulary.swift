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
    private var hashes: UnsafeMutablePointer<UInt32>
    public private(set) var counts: UnsafeMutablePointer<UInt64>
    public private(set) var dfs: UnsafeMutablePointer<UInt64>
    private var lastDoc: UnsafeMutablePointer<UInt64>
    private var cap: Int
    public private(set) var count = 0
    private var slots: UnsafeMutablePointer<UInt32>
    private var slotMask: Int

    public init() {
        cap = 1 << 14
        arenaCap = 1 << 18
        arena = .allocate(capacity: arenaCap)
        starts = .allocate(capacity: cap + 1)
        starts[0] = 0
        hashes = .allocate(capacity: cap)
        counts = .allocate(capacity: cap)
        dfs = .allocate(capacity: cap)
        lastDoc = .allocate(capacity: cap)
        slots = .allocate(capacity: cap * 2)
        slots.initialize(repeating: 0, count: cap * 2)
        slotMask = cap * 2 - 1
    }

    deinit {
        arena.deallocate(); starts.deallocate(); hashes.deallocate()
        counts.deallocate(); dfs.deallocate(); lastDoc.deallocate(); slots.deallocate()
    }

    /// Bytes held, for the memory budget.
    public var allocatedBytes: Int { arenaCap + cap * (8 + 4 + 8 + 8 + 8) + (slotMask + 1) * 4 }

    /// The bytes of token `id`.
    @inline(__always) public func token(_ id: UInt32) -> UnsafeRawBufferPointer {
        let s = starts[Int(id)], e = starts[Int(id) + 1]
        return UnsafeRawBufferPointer(start: arena + s, count: e - s)
    }

    public func string(_ id: UInt32) -> String { String(decoding: token(id), as: UTF8.self) }

    /// The id of `bytes`, or nil when the token was never seen.
    public func lookup(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        let h = hashBytes(bytes.baseAddress ?? UnsafeRawPointer(arena), bytes.count)
        var i = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            let id = Int(s - 1)
            if hashes[id] == UInt32(truncatingIfNeeded: h >> 32), equal(id, bytes) { return UInt32(id) }
            i = (i + 1) & slotMask
        }
    }

    @inline(__always) private func equal(_ id: Int, _ b: UnsafeRawBufferPointer) -> Bool {
        let s = starts[id], len = starts[id + 1] - s
        return len == b.count && (len == 0 || memcmp(arena + s, b.baseAddress!, len) == 0)
    }

    /// The id of `bytes`, adding the token if it is new.
    @inline(__always) public func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let h = hashBytes(bytes.baseAddress ?? UnsafeRawPointer(arena), bytes.count)
        let h32 = UInt32(truncatingIfNeeded: h >> 32)
        var i = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let s = slots[i]
            if s == 0 { break }
            let id = Int(s - 1)
            if hashes[id] == h32, equal(id, bytes) { return UInt32(id) }
            i = (i + 1) & slotMask
        }
        return insert(bytes, h32, slot: i)
    }

    private func insert(_ bytes: UnsafeRawBufferPointer, _ h32: UInt32, slot: Int) -> UInt32 {
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
        hashes[id] = h32
        counts[id] = 0
        dfs[id] = 0
        lastDoc[id] = UInt64.max
        count += 1
        var slot = slot
        if count * 4 > (slotMask + 1) * 3 {
            growSlots()
            slot = -1
        }
        if slot >= 0 { slots[slot] = UInt32(id + 1) } else { placeSlot(id) }
        if count == cap { growArrays() }
        return UInt32(id)
    }

    private func placeSlot(_ id: Int) {
        var i = Int(truncatingIfNeeded: hashBytesOf(id)) & slotMask
        while slots[i] != 0 { i = (i + 1) & slotMask }
        slots[i] = UInt32(id + 1)
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
        re(&hashes, count, nc)
        re(&counts, count, nc)
        re(&dfs, count, nc)
        re(&lastDoc, count, nc)
        cap = nc
    }

    /// Counts one occurrence of token `id` in document `doc` (a number that grows per document).
    @inline(__always) public func countOccurrence(_ id: UInt32, doc: UInt64) {
        let i = Int(id)
        counts[i] &+= 1
        if lastDoc[i] != doc {
            lastDoc[i] = doc
            dfs[i] &+= 1
        }
    }

    /// Adds counts summed elsewhere (merging indexes).
    public func addCounted(_ id: UInt32, count c: UInt64, df: UInt64) {
        counts[Int(id)] &+= c
        dfs[Int(id)] &+= df
    }
}

#if canImport(Glibc)
import Glibc
#endif
