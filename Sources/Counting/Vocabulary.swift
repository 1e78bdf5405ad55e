import CPrefetch

#if canImport(Glibc)
import Glibc
#endif

/// Token bytes -> dense ids (0, 1, 2, ...), with each token's exact occurrence count and
/// document frequency. Ids follow first appearance, so a single-threaded tokenizer gives the same
/// ids for the same input.
///
/// Layout: an open-addressing table of 64-byte slots, one cache line each. A slot holds the
/// token's first 32 bytes inline (zero-padded), its length and id, and its count, document
/// frequency and last document, so counting a token touches one cache line; tokens longer than
/// 32 bytes compare the rest against a byte arena. `countTokens` hashes each token and prefetches
/// its slot 32 tokens before counting it, so the misses of rare tokens overlap; key loads, the
/// hash and the compare have no branch on the token's length, which varies unpredictably.
///
/// Keys are compared byte for byte on every hit: two different byte strings never share an id.
/// - Complexity: `intern` O(token length) expected. Memory per type is its bytes plus about
///   100 bytes (64-byte slots at most 70% full, id and offset arrays).
public final class Vocabulary: @unchecked Sendable {
    struct Slot {
        var k0: UInt64, k1: UInt64, k2: UInt64, k3: UInt64
        /// 0 when empty; else length << 32 | (id + 1).
        var meta: UInt64
        var count: UInt64
        var df: UInt64
        var lastDoc: UInt64
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var slotMask: Int
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCap: Int
    private var arenaUsed = 0
    private var starts: UnsafeMutablePointer<Int>   // starts[id] ... starts[id+1]
    private var slotOf: UnsafeMutablePointer<UInt32>
    private var cap: Int
    public private(set) var count = 0
    /// Keys staged for counting (see `countTokens`).
    private struct Pending {
        var k: Key
        var len: Int
        var p: UnsafeRawPointer
        var h: UInt64
    }
    private let pending: UnsafeMutablePointer<Pending>

    /// How many tokens ahead `countTokens` prefetches.
    private static let prefetchDistance = 32

    public init() {
        (cap, arenaCap, arena, starts, slotOf, slots, slotMask) = Self.emptyStorage()
        pending = .allocate(capacity: 2 * Self.prefetchDistance)
    }

    /// The tables of an empty vocabulary.
    private static func emptyStorage() -> (Int, Int, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Int>,
                                           UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<Slot>, Int) {
        let cap = 1 << 12, arenaCap = 1 << 16
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: cap + 1)
        starts[0] = 0
        return (cap, arenaCap, .allocate(capacity: arenaCap), starts, .allocate(capacity: cap), allocateSlots(1 << 13), (1 << 13) - 1)
    }

    deinit {
        arena.deallocate(); starts.deallocate(); slotOf.deallocate(); pending.deallocate()
        free(slots)
    }

    /// Frees the tables and leaves the vocabulary empty (when its contents went elsewhere).
    public func release() {
        arena.deallocate(); starts.deallocate(); slotOf.deallocate()
        free(slots)
        arenaUsed = 0
        count = 0
        (cap, arenaCap, arena, starts, slotOf, slots, slotMask) = Self.emptyStorage()
    }

    /// Zeroed slots. Tables of 2 MiB or more are aligned to 2 MiB and offered to the kernel as
    /// transparent huge pages: random probes into tens of megabytes otherwise miss the TLB too.
    private static func allocateSlots(_ n: Int) -> UnsafeMutablePointer<Slot> {
        let bytes = n * MemoryLayout<Slot>.stride
        let huge = 2 << 20
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, bytes >= huge ? huge : 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes for the vocabulary")
        }
        if bytes >= huge { _ = madvise(raw, bytes, 14 /* MADV_HUGEPAGE */) }
        memset(raw, 0, bytes)
        return raw.bindMemory(to: Slot.self, capacity: n)
    }

    /// Bytes held, for the memory budget.
    public var allocatedBytes: Int {
        arenaCap + cap * 12 + (slotMask + 1) * MemoryLayout<Slot>.stride
    }

    /// Occurrences of token `id`.
    @inline(__always) public func count(of id: UInt32) -> UInt64 { slots[Int(slotOf[Int(id)])].count }
    /// Documents containing token `id`.
    @inline(__always) public func df(of id: UInt32) -> UInt64 { slots[Int(slotOf[Int(id)])].df }

    /// The bytes of token `id`.
    @inline(__always) public func token(_ id: UInt32) -> UnsafeRawBufferPointer {
        let s = starts[Int(id)], e = starts[Int(id) + 1]
        return UnsafeRawBufferPointer(start: arena + s, count: e - s)
    }

    public func string(_ id: UInt32) -> String { String(decoding: token(id), as: UTF8.self) }

    // MARK: keys and hashes

    /// The first 32 bytes of a token, zero-padded.
    typealias Key = (UInt64, UInt64, UInt64, UInt64)

    /// Word masks by token length: row `min(len, 32)` keeps the token's bytes of each of the
    /// key's four words (word j keeps clamp(len - 8j, 0, 8) bytes).
    nonisolated(unsafe) static let keyMasks = keyWordMasks(words: 4)

    /// Loads a key with plain 8-byte loads; 32 bytes from `p` must be readable. Branch-free (token
    /// lengths vary from one token to the next, so a branch per word would be mispredicted
    /// often): each word is masked with a row of `masks` (`keyMasks`).
    @inline(__always) static func loadKeyPadded(_ p: UnsafeRawPointer, _ len: Int, _ masks: UnsafePointer<UInt64>) -> Key {
        let m = masks + 4 * min(len, 32)
        return (p.loadUnaligned(fromByteOffset: 0, as: UInt64.self) & m[0],
                p.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & m[1],
                p.loadUnaligned(fromByteOffset: 16, as: UInt64.self) & m[2],
                p.loadUnaligned(fromByteOffset: 24, as: UInt64.self) & m[3])
    }

    /// Loads a key without reading past `len` bytes.
    @inline(__always) static func loadKey(_ p: UnsafeRawPointer?, _ len: Int) -> Key {
        var k: Key = (0, 0, 0, 0)
        if len > 0, let p {
            withUnsafeMutableBytes(of: &k) { memcpy($0.baseAddress!, p, min(len, 32)) }
        }
        return k
    }

    @inline(__always) static func hash(_ k: Key, _ len: Int, _ p: UnsafeRawPointer?) -> UInt64 {
        if len > 32 { return hashBytes(p!, len) }
        // Two independent 64x64->128-bit multiplies folded together (as in wyhash), then one
        // more: every key bit reaches the low bits that index the table, with no branch on the
        // length (padding words are zero and the length is mixed in).
        @inline(__always) func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let r = a.multipliedFullWidth(by: b)
            return r.high ^ r.low
        }
        let a = fold(k.0 ^ 0xA076_1D64_78BD_642F, k.1 ^ 0xE703_7ED1_A0B4_28DB ^ UInt64(truncatingIfNeeded: len))
        let b = fold(k.2 ^ 0x8EBC_6AF0_9C88_C6E3, k.3 ^ 0x5899_65CC_7537_4CC3)
        return fold(a ^ 0x1D8E_4E27_C47D_124F, b ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The slot holding the key, or the empty slot where it would go (and whether it was found).
    @inline(__always) private func probe(_ k: Key, _ len: Int, _ p: UnsafeRawPointer?, _ h: UInt64) -> (Int, Bool) {
        let lenTag = UInt64(truncatingIfNeeded: len) << 32
        var i = Int(truncatingIfNeeded: h) & slotMask
        while true {
            let s = slots + i
            let meta = s.pointee.meta
            if meta == 0 { return (i, false) }
            // One branch for the whole compare: which of several words differs is unpredictable.
            let diff = (s.pointee.k0 ^ k.0) | (s.pointee.k1 ^ k.1) | (s.pointee.k2 ^ k.2) | (s.pointee.k3 ^ k.3)
                | ((meta ^ lenTag) >> 32)
            if diff == 0 {
                if len <= 32 { return (i, true) }
                let id = Int(truncatingIfNeeded: meta & 0xFFFF_FFFF) - 1
                if memcmp(arena + starts[id] + 32, p! + 32, len - 32) == 0 { return (i, true) }
            }
            i = (i + 1) & slotMask
        }
    }

    @inline(__always) private func id(at slot: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: slots[slot].meta & 0xFFFF_FFFF) &- 1
    }

    // MARK: lookups and counting

    /// The id of `bytes`, or nil when the token was never seen.
    public func lookup(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        let k = Self.loadKey(bytes.baseAddress, bytes.count)
        let h = Self.hash(k, bytes.count, bytes.baseAddress)
        let (i, found) = probe(k, bytes.count, bytes.baseAddress, h)
        return found ? id(at: i) : nil
    }

    /// The id of `bytes`, adding the token if it is new.
    @inline(__always) public func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let k = Self.loadKey(bytes.baseAddress, bytes.count)
        let h = Self.hash(k, bytes.count, bytes.baseAddress)
        let (i, found) = probe(k, bytes.count, bytes.baseAddress, h)
        return found ? id(at: i) : UInt32(insert(k, bytes.count, bytes.baseAddress, h, slot: i).id)
    }

    /// Interns `bytes` and counts one occurrence in document `doc` (a number that grows per
    /// document).
    @inline(__always) public func count(_ bytes: UnsafeRawBufferPointer, doc: UInt64) -> UInt32 {
        let k = Self.loadKey(bytes.baseAddress, bytes.count)
        let h = Self.hash(k, bytes.count, bytes.baseAddress)
        return countKey(k, bytes.count, bytes.baseAddress, h, doc: doc)
    }

    @inline(__always) private func countKey(_ k: Key, _ len: Int, _ p: UnsafeRawPointer?, _ h: UInt64, doc: UInt64) -> UInt32 {
        var (i, found) = probe(k, len, p, h)
        if !found { i = insert(k, len, p, h, slot: i).slot }
        let s = slots + i
        s.pointee.count &+= 1
        // A token's first occurrence in a document is unpredictable: no branch.
        s.pointee.df &+= s.pointee.lastDoc != doc ? 1 : 0
        s.pointee.lastDoc = doc
        return UInt32(truncatingIfNeeded: s.pointee.meta & 0xFFFF_FFFF) &- 1
    }

    /// Counts the `n` tokens of one document: token `t` is `bytes[ends[t-1] ..< ends[t]]` (from 0
    /// for the first). `readable` bytes from `bytes` may be read (at least 32 past a token's start
    /// lets its key load with whole-word reads). Writes each token's id to `ids` when given.
    /// The hot path of indexing: each token is hashed and its slot prefetched a few tokens
    /// before it is counted.
    public func countTokens(_ bytes: UnsafePointer<UInt8>, ends: UnsafePointer<Int32>, count n: Int,
                            readable: Int, doc: UInt64, ids: UnsafeMutablePointer<UInt32>?) {
        if n == 0 { return }
        let raw = UnsafeRawPointer(bytes)
        let masks = Self.keyMasks
        let ring = pending
        let d = Self.prefetchDistance
        // Token t's key and hash are computed d tokens before it is counted, when its slot is
        // prefetched; they wait in a ring of 2d entries (which stays in L1).
        @inline(__always) func stage(_ t: Int) {
            let s = t == 0 ? 0 : Int(ends[t - 1])
            let len = Int(ends[t]) - s
            let p = raw + s
            let k = s + 32 <= readable ? Self.loadKeyPadded(p, len, masks) : Self.loadKey(p, len)
            let h = Self.hash(k, len, p)
            ring[t & (2 * d - 1)] = Pending(k: k, len: len, p: p, h: h)
            ts_prefetch(slots + (Int(truncatingIfNeeded: h) & slotMask))
        }
        for t in 0..<min(d, n) { stage(t) }
        for t in 0..<n {
            if t + d < n { stage(t + d) }
            let e = ring[t & (2 * d - 1)]
            let id = countKey(e.k, e.len, e.p, e.h, doc: doc)
            ids?[t] = id
        }
    }

    // MARK: growth

    private func insert(_ k: Key, _ len: Int, _ p: UnsafeRawPointer?, _ h: UInt64, slot: Int) -> (id: Int, slot: Int) {
        precondition(count < Int(UInt32.max - 1), "more than 4 billion distinct tokens")
        if arenaUsed + len > arenaCap {
            let nc = max(arenaCap * 2, arenaUsed + len)
            let na = UnsafeMutablePointer<UInt8>.allocate(capacity: nc)
            na.update(from: arena, count: arenaUsed)
            arena.deallocate()
            arena = na
            arenaCap = nc
        }
        if len > 0 { memcpy(arena + arenaUsed, p!, len) }
        arenaUsed += len
        let id = count
        if id == cap { growArrays() }
        starts[id + 1] = arenaUsed
        count += 1
        var slot = slot
        if count * 10 > (slotMask + 1) * 7 {
            growSlots()
            slot = probe(k, len, p, h).0
        }
        slots[slot] = Slot(k0: k.0, k1: k.1, k2: k.2, k3: k.3, meta: UInt64(truncatingIfNeeded: len) << 32 | UInt64(id + 1),
                           count: 0, df: 0, lastDoc: UInt64.max)
        slotOf[id] = UInt32(slot)
        return (id, slot)
    }

    private func growSlots() {
        let old = slots, oldN = slotMask + 1
        let n = oldN * 2
        slots = Self.allocateSlots(n)
        slotMask = n - 1
        for j in 0..<oldN where old[j].meta != 0 {
            let s = old[j]
            let len = Int(truncatingIfNeeded: s.meta >> 32)
            let id = Int(truncatingIfNeeded: s.meta & 0xFFFF_FFFF) - 1
            let h = Self.hash((s.k0, s.k1, s.k2, s.k3), len, UnsafeRawPointer(arena + starts[id]))
            var i = Int(truncatingIfNeeded: h) & slotMask
            while slots[i].meta != 0 { i = (i + 1) & slotMask }
            slots[i] = s
            slotOf[id] = UInt32(i)
        }
        free(old)
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
        re(&slotOf, count, nc)
        cap = nc
    }

    /// Every id's count and document frequency, read in one sequential sweep of the table
    /// (rather than one random access per id).
    public func countsById() -> (counts: [UInt64], dfs: [UInt64]) {
        var counts = [UInt64](repeating: 0, count: count)
        var dfs = [UInt64](repeating: 0, count: count)
        for j in 0...slotMask where slots[j].meta != 0 {
            let id = Int(truncatingIfNeeded: slots[j].meta & 0xFFFF_FFFF) - 1
            counts[id] = slots[j].count
            dfs[id] = slots[j].df
        }
        return (counts, dfs)
    }

    /// Adds counts summed elsewhere (merging indexes).
    public func addCounted(_ id: UInt32, count c: UInt64, df: UInt64) {
        let s = slots + Int(slotOf[Int(id)])
        s.pointee.count &+= c
        s.pointee.df &+= df
    }
}
