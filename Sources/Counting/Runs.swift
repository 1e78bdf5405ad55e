import Support
#if canImport(Glibc)
import Glibc
#endif

/// Failure writing or reading spill files (disk full, temp dir missing, ...).
public struct SpillError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Writes `count` sorted entries to `path` as raw records (machine-local temp files only).
func writeRun<K>(_ entries: UnsafeMutablePointer<Entry<K>>, count: Int, to path: String) throws(SpillError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw SpillError(description: "cannot create spill file \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var p = UnsafeRawPointer(entries)
    var left = count * MemoryLayout<Entry<K>>.stride
    while left > 0 {
        let n = write(fd, p, min(left, 1 << 26))
        if n < 0 {
            if errno == EINTR { continue }
            throw SpillError(description: "cannot write spill file \(path): \(String(cString: strerror(errno)))")
        }
        p += n
        left -= n
    }
}

/// A read position in a sorted run: an in-memory table or a spill file read in blocks.
final class RunCursor<K: NGramKey> {
    private var buf: UnsafeMutablePointer<Entry<K>>
    private let ownsBuffer: Bool
    private var pos = 0
    private var len: Int
    private let fd: Int32
    private let blockEntries: Int
    let path: String?

    /// A cursor over memory that stays valid while the cursor is used.
    init(memory: UnsafeMutablePointer<Entry<K>>, count: Int) {
        buf = memory
        len = count
        ownsBuffer = false
        fd = -1
        blockEntries = 0
        path = nil
    }

    init(file: String, blockBytes: Int = 4 << 20) throws(SpillError) {
        fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw SpillError(description: "cannot open spill file \(file)") }
        path = file
        blockEntries = max(1, blockBytes / MemoryLayout<Entry<K>>.stride)
        buf = .allocate(capacity: blockEntries)
        ownsBuffer = true
        len = 0
        try refill()
    }

    deinit {
        if ownsBuffer { buf.deallocate() }
        if fd >= 0 { close(fd) }
    }

    private func refill() throws(SpillError) {
        pos = 0
        len = 0
        let want = blockEntries * MemoryLayout<Entry<K>>.stride
        var got = 0
        let raw = UnsafeMutableRawPointer(buf)
        while got < want {
            let n = read(fd, raw + got, want - got)
            if n < 0 {
                if errno == EINTR { continue }
                throw SpillError(description: "cannot read spill file \(path ?? "")")
            }
            if n == 0 { break }
            got += n
        }
        precondition(got % MemoryLayout<Entry<K>>.stride == 0, "spill file \(path ?? "") is damaged")
        len = got / MemoryLayout<Entry<K>>.stride
    }

    @inline(__always) var isDone: Bool { pos >= len }
    @inline(__always) var current: UnsafeMutablePointer<Entry<K>> { buf + pos }

    @inline(__always) func advance() throws(SpillError) {
        pos += 1
        if pos >= len && fd >= 0 && len == blockEntries { try refill() }
    }
}

/// Receives merged n-grams in key order.
public protocol NGramRowSink: AnyObject {
    func row(_ ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws
}

/// What the merge saw for one order, before `--min-count` dropped anything.
public struct OrderSummary: Sendable {
    public var order: Int
    /// Sum of all counts (n-gram occurrences).
    public var total: UInt64 = 0
    /// Distinct n-grams.
    public var types: UInt64 = 0
    /// Distinct n-grams written to the index (after `--min-count`).
    public var stored: UInt64 = 0
    /// Count of counts: how many n-grams occurred exactly c times (c -> types).
    public var countOfCounts: [UInt64: UInt64] = [:]
    /// The most frequent n-grams, most frequent first; ties in key order.
    public var top: [(ids: [UInt32], count: UInt64, df: UInt64)] = []

    public init(order: Int) { self.order = order }

    public var hapax: UInt64 { countOfCounts[1] ?? 0 }
}

/// Builds a count-of-counts: an array for the small counts most n-grams have (no hashing per
/// n-gram), a dictionary beyond.
public struct CountTally {
    private var small = [UInt64](repeating: 0, count: 4096)
    private var large: [UInt64: UInt64] = [:]

    public init() {}

    @inline(__always) public mutating func add(_ count: UInt64) {
        if count < 4096 { small[Int(count)] += 1 } else { large[count, default: 0] += 1 }
    }

    /// count -> number of n-grams with that count (counts of 0 are left out).
    public var countOfCounts: [UInt64: UInt64] {
        var d = large
        for c in 1..<4096 where small[c] > 0 { d[UInt64(c)] = small[c] }
        return d
    }
}

/// Keeps the `k` largest counts; ties keep the earliest (lowest key) in merge order.
public struct TopK {
    let k: Int
    let order: Int
    private(set) var heap: [(ids: [UInt32], count: UInt64, df: UInt64, seq: Int)] = []
    private var seq = 0

    public init(k: Int, order: Int) { self.k = k; self.order = order }

    @inline(__always) var threshold: UInt64 { k == 0 ? .max : heap.count < k ? 0 : heap[0].count }

    // Min-heap by (count asc, seq desc): the root is the entry to evict first.
    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].count != heap[b].count ? heap[a].count < heap[b].count : heap[a].seq > heap[b].seq
    }

    public mutating func offer(_ ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) {
        seq += 1
        if k == 0 { return }
        if heap.count == k && count <= heap[0].count { return }
        let item = (ids: Array(UnsafeBufferPointer(start: ids, count: order)), count: count, df: df, seq: seq)
        if heap.count < k {
            heap.append(item)
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                if less(c, p) { heap.swapAt(c, p); c = p } else { break }
            }
        } else {
            heap[0] = item
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < heap.count && less(l, m) { m = l }
                if r < heap.count && less(r, m) { m = r }
                if m == p { break }
                heap.swapAt(p, m)
                p = m
            }
        }
    }

    public func sorted() -> [(ids: [UInt32], count: UInt64, df: UInt64)] {
        heap.sorted { $0.count != $1.count ? $0.count > $1.count : $0.seq < $1.seq }
            .map { ($0.ids, $0.count, $0.df) }
    }
}

/// Merges sorted runs, summing the counts of equal keys.
/// - Complexity: O(N log k) for N records in k runs; memory is one block per file run.
func mergeRuns<K: NGramKey>(_ cursors: [RunCursor<K>], minCount: UInt64, topK: Int,
                            sink: NGramRowSink) throws -> OrderSummary {
    var summary = OrderSummary(order: K.order)
    var top = TopK(k: topK, order: K.order)
    var tally = CountTally()
    var heap = cursors.filter { !$0.isDone }
    @inline(__always) func less(_ a: Int, _ b: Int) -> Bool { heap[a].current.pointee.key < heap[b].current.pointee.key }
    func siftDown(_ start: Int) {
        var p = start
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            if m == p { return }
            heap.swapAt(p, m)
            p = m
        }
    }
    if heap.count > 1 { for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) } }
    let ids = UnsafeMutablePointer<UInt32>.allocate(capacity: K.order)
    defer { ids.deallocate() }
    while !heap.isEmpty {
        let key = heap[0].current.pointee.key
        var count: UInt64 = 0
        var df: UInt64 = 0
        while !heap.isEmpty && heap[0].current.pointee.key == key {
            let c = heap[0]
            count &+= c.current.pointee.count
            df &+= UInt64(c.current.pointee.df)
            try c.advance()
            if c.isDone {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            if !heap.isEmpty { siftDown(0) }
        }
        summary.total &+= count
        summary.types += 1
        tally.add(count)
        if count >= minCount {
            key.write(ids)
            if count > top.threshold { top.offer(ids, count: count, df: df) }
            try sink.row(ids, count: count, df: df)
            summary.stored += 1
        }
    }
    summary.countOfCounts = tally.countOfCounts
    summary.top = top.sorted()
    return summary
}

extension SpillError: ExitCoded { public var exitStatus: ExitStatus { .ioError } }
