import Support
#if canImport(Glibc)
import Glibc
#endif

/// Marks the end of a document in a batch of token ids.
public let documentEnd: UInt32 = .max

/// Settings of an n-gram counter.
public struct CounterConfig: Sendable {
    /// Highest order counted (2...5). Unigrams are counted by the `Vocabulary`.
    public var maxOrder: Int
    /// Worker threads; n-grams are split between them by hash, so each counts a disjoint part.
    public var workers: Int
    /// Bytes all hash tables together may use before they spill sorted runs to `tempDir`.
    public var tableBudget: Int
    public var tempDir: String

    public init(maxOrder: Int, workers: Int, tableBudget: Int, tempDir: String) {
        self.maxOrder = maxOrder
        self.workers = max(1, workers)
        self.tableBudget = tableBudget
        self.tempDir = tempDir
    }
}

/// Exact n-gram counting (orders 2...N) in a memory budget, KenLM-style: hash tables that spill
/// sorted runs when full, and a k-way merge that sums equal keys.
///
/// Feed it batches of token ids in which every document ends with `documentEnd`; n-grams never
/// cross a document end. Then call `finishInput()` and `merge(order:...)` once per order.
/// - Complexity: O(n-grams) to count, O(N log k) to merge k runs. Memory is the table budget
///   (a table passes it only while one document is still being counted) plus 4 MiB per run
///   while merging. Spill files take about `stride(Entry)` bytes per distinct n-gram per run.
public final class NGramCounter: @unchecked Sendable {
    public let config: CounterConfig
    private let workers: [Worker]
    private var threads: [JoinableThread] = []
    private var queues: [BoundedQueue<Batch>] = []
    public let spillDir: String
    private var lockFD: Int32 = -1
    /// Spill directories of dead runs removed when this counter started.
    public private(set) var removedLeftovers: [TempFiles.Leftover] = []

    final class Batch: @unchecked Sendable {
        let ids: [UInt32]
        init(_ ids: [UInt32]) { self.ids = ids }
    }

    public init(config: CounterConfig) throws(SpillError) {
        precondition((2...5).contains(config.maxOrder))
        self.config = config
        // Leftovers of killed runs in this temp dir go first (their process is gone, their lock free).
        let cleaned = TempFiles.cleanLeftovers(in: config.tempDir)
        var template = Array("\(config.tempDir)/\(TempFiles.spillPrefix)\(getpid())-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw SpillError(description: "cannot create a spill directory in \(config.tempDir): \(String(cString: strerror(errno)))")
        }
        spillDir = String(cString: template)
        // The lock tells `clean` (and later runs) that the directory is in use.
        lockFD = open(spillDir + "/lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if lockFD >= 0 { TempFiles.lock(lockFD) }
        removedLeftovers = cleaned
        let perWorker = config.tableBudget / config.workers
        let dir = spillDir
        workers = (0..<config.workers).map {
            Worker(index: $0, of: config.workers, maxOrder: config.maxOrder, budget: perWorker, dir: dir)
        }
        if config.workers > 1 {
            for w in workers {
                let q = BoundedQueue<Batch>(capacity: 3)
                queues.append(q)
                threads.append(JoinableThread {
                    while let b = q.pop() { w.process(b.ids) }
                })
            }
        }
    }

    deinit { removeSpillDir() }

    /// Counts a batch. Every document in it must end with `documentEnd`. With several workers
    /// each batch goes to one of them, round robin: a worker counts every n-gram of its
    /// documents, so each n-gram is hashed once whatever the number of workers (they used to
    /// split n-grams by hash, every worker hashing every n-gram). A document is in one worker, so
    /// document frequencies stay exact; workers' tables overlap in keys, and the k-way merge of
    /// all runs sums them, as it sums the runs of one worker.
    public func add(_ ids: [UInt32]) {
        if queues.isEmpty {
            workers[0].process(ids)
        } else {
            queues[nextQueue % queues.count].push(Batch(ids))
            nextQueue &+= 1
        }
    }
    /// The worker queue of the next batch (`add` is called from one thread).
    private var nextQueue = 0

    /// Adds an n-gram counted elsewhere (merging indexes). Single-threaded; call before
    /// `finishInput()` and not together with `add`.
    public func addCounted(order: Int, ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws(SpillError) {
        try workers[0].addCounted(order: order, ids: ids, count: count, df: df)
    }

    /// As `addCounted`, into worker `worker`'s tables: one thread per worker may add at the same
    /// time (merging several indexes in parallel). Not together with `add`.
    public func addCounted(worker: Int, order: Int, ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws(SpillError) {
        try workers[worker].addCounted(order: order, ids: ids, count: count, df: df)
    }

    /// Frees the tables (after `merge`, or when what they counted went elsewhere); the counter
    /// is unusable afterwards.
    public func releaseTables() {
        for w in workers { w.t2 = nil; w.t3 = nil; w.t4 = nil; w.t5 = nil }
    }

    /// The number of workers (tables that count independently).
    public var workerCount: Int { workers.count }

    /// Waits for the workers to count everything added.
    public func finishInput() throws(SpillError) {
        for q in queues { q.close() }
        for t in threads { t.join() }
        threads = []
        queues = []
        for w in workers { if let e = w.error { throw e } }
    }

    /// Spill runs written so far (all workers, all orders).
    public var spills: Int { workers.reduce(0) { $0 + $1.spills } }

    /// Bytes currently held by the hash tables.
    public var tableBytes: Int { workers.reduce(0) { $0 + $1.tableBytes } }

    /// Merges everything counted for `order` and hands each n-gram with count >= `minCount` to
    /// `sink`, in ascending id-tuple order. Returns the order's totals before the cut.
    public func merge(order: Int, minCount: UInt64, topK: Int, sink: NGramRowSink) throws -> OrderSummary {
        // Each run is read in blocks; together they take at most a quarter of the table budget
        // (between 256 KiB and 4 MiB a run), so many runs do not pass --memory while merging.
        let runs = max(1, workers.reduce(0) { $0 + $1.runCount(order) })
        let block = min(4 << 20, max(256 << 10, config.tableBudget / 4 / runs))
        switch order {
        case 2: return try mergeRuns(workers.flatMap { try $0.cursors(\.t2, block) }, minCount: minCount, topK: topK, sink: sink)
        case 3: return try mergeRuns(workers.flatMap { try $0.cursors(\.t3, block) }, minCount: minCount, topK: topK, sink: sink)
        case 4: return try mergeRuns(workers.flatMap { try $0.cursors(\.t4, block) }, minCount: minCount, topK: topK, sink: sink)
        case 5: return try mergeRuns(workers.flatMap { try $0.cursors(\.t5, block) }, minCount: minCount, topK: topK, sink: sink)
        default: preconditionFailure("order \(order)")
        }
    }

    /// Stops the workers (a run being written finishes first), then removes the spill directory
    /// with everything in it. Safe to call more than once.
    public func removeSpillDir() {
        for q in queues { q.close() }
        for t in threads { t.join() }
        threads = []
        queues = []
        removeTree(spillDir)
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }
}

/// One worker's share: every n-gram of the documents it is given.
final class Worker: @unchecked Sendable {
    let index: Int
    let of: Int
    let maxOrder: Int
    let dir: String
    var t2: OrderTable<Key2>?
    var t3: OrderTable<Key3>?
    var t4: OrderTable<Key4>?
    var t5: OrderTable<Key5>?
    var doc: UInt32 = 0
    var error: SpillError?

    init(index: Int, of: Int, maxOrder: Int, budget: Int, dir: String) {
        self.index = index
        self.of = of
        self.maxOrder = maxOrder
        self.dir = dir
        // Higher orders have more distinct n-grams; give them a larger share of the budget.
        let weights = [0, 0, 1.0, 1.6, 2.0, 2.2]
        let total = (2...maxOrder).reduce(0.0) { $0 + weights[$1] }
        func share(_ n: Int) -> Int { Int(Double(budget) * weights[n] / total) }
        let prefix = "\(dir)/w\(index)"
        t2 = OrderTable(budget: share(2), prefix: prefix)
        if maxOrder >= 3 { t3 = OrderTable(budget: share(3), prefix: prefix) }
        if maxOrder >= 4 { t4 = OrderTable(budget: share(4), prefix: prefix) }
        if maxOrder >= 5 { t5 = OrderTable(budget: share(5), prefix: prefix) }
    }

    var spills: Int { (t2?.runs.count ?? 0) + (t3?.runs.count ?? 0) + (t4?.runs.count ?? 0) + (t5?.runs.count ?? 0) }
    var tableBytes: Int {
        (t2?.table.allocatedBytes ?? 0) + (t3?.table.allocatedBytes ?? 0)
            + (t4?.table.allocatedBytes ?? 0) + (t5?.table.allocatedBytes ?? 0)
    }

    @inline(__always) private func count<K: NGramKey>(_ t: OrderTable<K>, _ p: UnsafePointer<UInt32>, _ len: Int) {
        let n = K.order
        if len < n { return }
        let table = t.table
        for j in 0...(len - n) {
            let key = K(p + j)
            table.add(key, hash: key.hash, doc: doc)
        }
    }

    func process(_ ids: [UInt32]) {
        if error != nil { return }
        ids.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            var start = 0
            for i in 0..<buf.count where base[i] == documentEnd {
                let len = i - start
                let p = base + start
                if let t = t2 { count(t, p, len) }
                if let t = t3 { count(t, p, len) }
                if let t = t4 { count(t, p, len) }
                if let t = t5 { count(t, p, len) }
                start = i + 1
                doc &+= 1
                do throws(SpillError) {
                    try spillFullTables(force: doc == UInt32.max - 1)
                } catch {
                    self.error = error
                    return
                }
                if doc == UInt32.max - 1 { doc = 0 }
            }
        }
    }

    /// Spills every table that is full. Called only between documents, so a document's n-grams
    /// are always in one run and document frequencies add up exactly across runs.
    private func spillFullTables(force: Bool) throws(SpillError) {
        if let t = t2, force || t.table.isFull { try t.spill() }
        if let t = t3, force || t.table.isFull { try t.spill() }
        if let t = t4, force || t.table.isFull { try t.spill() }
        if let t = t5, force || t.table.isFull { try t.spill() }
    }

    func addCounted(order: Int, ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws(SpillError) {
        switch order {
        case 2: try t2!.addCounted(Key2(ids), count, df)
        case 3: try t3!.addCounted(Key3(ids), count, df)
        case 4: try t4!.addCounted(Key4(ids), count, df)
        case 5: try t5!.addCounted(Key5(ids), count, df)
        default: preconditionFailure()
        }
    }

    func cursors<K>(_ kp: KeyPath<Worker, OrderTable<K>?>, _ block: Int) throws(SpillError) -> [RunCursor<K>] {
        guard let t = self[keyPath: kp] else { return [] }
        return try t.cursors(blockBytes: block)
    }

    /// Spilled runs of order `n`.
    func runCount(_ n: Int) -> Int {
        switch n {
        case 2: return t2?.runs.count ?? 0
        case 3: return t3?.runs.count ?? 0
        case 4: return t4?.runs.count ?? 0
        default: return t5?.runs.count ?? 0
        }
    }

}

/// A table for one order plus the runs it has spilled.
final class OrderTable<K: NGramKey> {
    let table: NGramTable<K>
    var runs: [String] = []
    let prefix: String
    private var sorted = false

    init(budget: Int, prefix: String) {
        table = NGramTable<K>(budget: budget)
        self.prefix = prefix
    }

    func spill() throws(SpillError) {
        if table.count == 0 { return }
        table.sortInPlace()
        let path = "\(prefix)-o\(K.order)-r\(runs.count).run"
        try writeRun(table.entries, count: table.count, to: path)
        runs.append(path)
        table.clear()
    }

    func addCounted(_ key: K, _ c: UInt64, _ df: UInt64) throws(SpillError) {
        if table.isFull { try spill() }
        table.addCounted(key, count: c, df: df)
    }

    /// Cursors over the spilled runs and the sorted in-memory remainder.
    func cursors(blockBytes: Int = 4 << 20) throws(SpillError) -> [RunCursor<K>] {
        var out: [RunCursor<K>] = []
        for r in runs { out.append(try RunCursor<K>(file: r, blockBytes: blockBytes)) }
        if table.count > 0 {
            if !sorted { table.sortInPlace(); sorted = true }
            out.append(RunCursor<K>(memory: table.entries, count: table.count))
        }
        return out
    }
}
