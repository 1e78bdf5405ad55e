/// An open-addressing hash table of n-gram entries with a memory ceiling.
///
/// Entries live in one array of structs (key, count, document frequency, last document) so that a
/// probe touches one cache line, and so that a spill sorts that array in place, with no extra
/// memory, before writing it out as a run.
/// - Complexity: `add` is O(1) expected; `sortInPlace` O(n log n). Memory per entry is
///   `MemoryLayout<Entry<K>>.stride` plus 4 to 8 bytes of slots (load factor at most 3/4).
final class NGramTable<K: NGramKey> {
    private(set) var entries: UnsafeMutablePointer<Entry<K>>
    private var slots: UnsafeMutablePointer<UInt32>  // entry index + 1; 0 = empty
    private var slotMask: Int
    private(set) var capacity: Int
    private(set) var count = 0
    /// The capacity the memory share allows; the table may pass it only inside one document.
    let maxCapacity: Int

    static func bytes(capacity: Int) -> Int {
        capacity * MemoryLayout<Entry<K>>.stride + slotCount(capacity) * 4
    }

    static func slotCount(_ capacity: Int) -> Int {
        var s = 16
        while s * 3 < capacity * 4 { s <<= 1 }
        return s
    }

    /// Largest capacity whose table fits in `budget` bytes.
    static func capacity(forBudget budget: Int) -> Int {
        var lo = 1024, hi = max(1024, budget / MemoryLayout<Entry<K>>.stride)
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if bytes(capacity: mid) <= budget { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    init(budget: Int) {
        maxCapacity = Self.capacity(forBudget: budget)
        capacity = min(1 << 15, maxCapacity)
        entries = .allocate(capacity: capacity)
        let s = Self.slotCount(capacity)
        slots = .allocate(capacity: s)
        slots.initialize(repeating: 0, count: s)
        slotMask = s - 1
    }

    deinit {
        entries.deallocate()
        slots.deallocate()
    }

    var allocatedBytes: Int { capacity * MemoryLayout<Entry<K>>.stride + (slotMask + 1) * 4 }

    /// True when the table should be spilled at the next document boundary.
    var isFull: Bool { count >= maxCapacity - maxCapacity / 64 }

    private func grow() {
        let newCap = capacity < maxCapacity ? min(capacity * 2, maxCapacity) : capacity + capacity / 4
        let ne = UnsafeMutablePointer<Entry<K>>.allocate(capacity: newCap)
        ne.moveInitialize(from: entries, count: count)
        entries.deallocate()
        entries = ne
        capacity = newCap
        let s = Self.slotCount(newCap)
        if s != slotMask + 1 {
            slots.deallocate()
            slots = .allocate(capacity: s)
            slotMask = s - 1
            rebuildSlots()
        }
    }

    private func rebuildSlots() {
        slots.initialize(repeating: 0, count: slotMask + 1)
        for e in 0..<count {
            var i = Int(truncatingIfNeeded: entries[e].key.hash) & slotMask
            while slots[i] != 0 { i = (i + 1) & slotMask }
            slots[i] = UInt32(e + 1)
        }
    }

    /// Counts one occurrence of `key` in document `doc`.
    @inline(__always) func add(_ key: K, hash: UInt64, doc: UInt32) {
        var i = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let s = slots[i]
            if s == 0 { break }
            let e = entries + Int(s - 1)
            if e.pointee.key == key {
                e.pointee.count &+= 1
                if e.pointee.last != doc {
                    e.pointee.last = doc
                    e.pointee.df &+= 1
                }
                return
            }
            i = (i + 1) & slotMask
        }
        if count == capacity {
            grow()
            return add(key, hash: hash, doc: doc)
        }
        entries[count] = Entry(key: key, count: 1, df: 1, last: doc)
        count += 1
        slots[i] = UInt32(count)
    }

    /// Adds counts already summed elsewhere (merging indexes). `df` is added as is.
    func addCounted(_ key: K, count c: UInt64, df: UInt64) {
        let hash = key.hash
        var i = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let s = slots[i]
            if s == 0 { break }
            let e = entries + Int(s - 1)
            if e.pointee.key == key {
                e.pointee.count &+= c
                e.pointee.df &+= UInt32(truncatingIfNeeded: df)
                return
            }
            i = (i + 1) & slotMask
        }
        if count == capacity {
            grow()
            return addCounted(key, count: c, df: df)
        }
        entries[count] = Entry(key: key, count: c, df: UInt32(truncatingIfNeeded: df), last: UInt32.max)
        count += 1
        slots[i] = UInt32(count)
    }

    /// Sorts the entries by key in place; the table must be `clear()`ed before further adds.
    func sortInPlace() {
        // Keys are distinct, so an unstable sort gives the one order; this one needs no buffer
        // (the standard library's stable sort allocates one as large as the table, which
        // doubled the tables' memory at every spill).
        sortEntries(entries, 0, count - 1)
    }

    func clear() {
        count = 0
        slots.initialize(repeating: 0, count: slotMask + 1)
    }
}

/// Sorts `e[lo...hi]` by key in place: quicksort with a median-of-three pivot, insertion sort for
/// short ranges, recursing into the smaller side (stack depth O(log n)).
func sortEntries<K: NGramKey>(_ e: UnsafeMutablePointer<Entry<K>>, _ lo0: Int, _ hi0: Int) {
    var lo = lo0, hi = hi0
    while hi - lo > 16 {
        let mid = lo + (hi - lo) / 2
        if e[mid].key < e[lo].key { swap(&e[mid], &e[lo]) }
        if e[hi].key < e[lo].key { swap(&e[hi], &e[lo]) }
        if e[hi].key < e[mid].key { swap(&e[hi], &e[mid]) }
        let pivot = e[mid].key
        var i = lo, j = hi
        while i <= j {
            while e[i].key < pivot { i += 1 }
            while pivot < e[j].key { j -= 1 }
            if i <= j { if i != j { swap(&e[i], &e[j]) }; i += 1; j -= 1 }
        }
        if j - lo < hi - i {
            if lo < j { sortEntries(e, lo, j) }
            lo = i
        } else {
            if i < hi { sortEntries(e, i, hi) }
            hi = j
        }
    }
    if hi > lo {
        for k in (lo + 1)...hi {
            let x = e[k]
            var m = k - 1
            while m >= lo && x.key < e[m].key { e[m + 1] = e[m]; m -= 1 }
            e[m + 1] = x
        }
    }
}
