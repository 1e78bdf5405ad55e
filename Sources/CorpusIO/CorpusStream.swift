import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Which slice of the inputs one shard of a pass reads: every N-th file, or every N-th document
/// of each file. The shards of one pass together read every document exactly once.
public struct ShardSpec: Sendable, Equatable, CustomStringConvertible {
    public enum By: String, Sendable, CaseIterable { case file, doc }
    /// 1-based.
    public var index: Int
    public var count: Int
    public var by: By

    public init(index: Int, count: Int, by: By) {
        self.index = index
        self.count = count
        self.by = by
    }

    /// The whole corpus (one shard).
    public static let whole = ShardSpec(index: 1, count: 1, by: .file)

    public var isWhole: Bool { count == 1 }

    public var description: String { count == 1 ? "all" : "\(index)/\(count) by \(by.rawValue)" }

    /// The positions (in `inputs`) of the files this shard reads: with `by: .file` every
    /// `count`-th file from `index - 1`; with `by: .doc` all of them.
    public func files(of inputs: [String]) -> [Int] {
        guard count > 1 && by == .file else { return Array(inputs.indices) }
        return inputs.indices.filter { $0 % count == index - 1 }
    }

    /// The part of the shard that is decided inside files: itself when it shards by document,
    /// else the whole (its files are chosen before reading).
    public var withinFiles: ShardSpec { by == .doc ? self : .whole }

    /// With `by: .doc`, whether the shard reads the document at `position` of its file.
    @inline(__always) public func reads(position: Int64) -> Bool {
        count == 1 || by == .file || position % Int64(count) == Int64(index - 1)
    }
}

/// A growable byte buffer whose storage stays put while a batch is in use.
public final class ByteArena {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var count = 0
    private var capacity: Int

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 16)
        base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    public func reset() { count = 0 }

    public func append(_ b: UnsafeRawBufferPointer) {
        if count + b.count > capacity {
            var c = capacity * 2
            while c < count + b.count { c *= 2 }
            let n = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 8)
            n.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = n
            capacity = c
        }
        if let s = b.baseAddress, b.count > 0 { (base + count).copyMemory(from: s, byteCount: b.count) }
        count += b.count
    }

    @inline(__always) public func slice(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: end - start)
    }
}

/// What the reader counted in one file, handed out with the file's last batch.
public struct FileEnd: Sendable {
    public let counters: SourceCounters
    public let container: Container
    public let jsonl: Bool
    /// Documents of this file the stream delivered (its shard's share).
    public let docs: Int64
}

/// Documents of one file, in file order: their texts and, when the stream was asked for them,
/// their records as written (the whole JSONL line) and their positions.
public final class CorpusBatch: @unchecked Sendable {
    /// Stream order (0, 1, 2, ...).
    public internal(set) var seq = 0
    /// The file's position in the stream's `files`.
    public internal(set) var fileIndex = 0
    /// The stream-wide ordinal of the first document (0-based, counting only delivered documents).
    public internal(set) var firstDoc: Int64 = 0
    let text: ByteArena
    var textEnds: [Int] = []
    let raw: ByteArena?
    var rawEnds: [Int] = []
    /// With positions: each document's number within its file (0-based, over all documents of
    /// the file, whichever shard reads them), first line (1-based) and decompressed byte offset.
    public internal(set) var positions: [Int64] = []
    public internal(set) var lines: [Int] = []
    public internal(set) var offsets: [Int64] = []
    /// Compressed bytes of the file consumed when the batch was sealed, and bytes decompressed.
    public internal(set) var fileOffset: Int64 = 0
    public internal(set) var bytesDecompressed: Int64 = 0
    /// Set on the last batch of a file.
    public internal(set) var endOfFile: FileEnd?
    /// A read error: the stream ends after this batch.
    public internal(set) var error: Error?

    init(capacity: Int, records: Bool) {
        text = ByteArena(capacity: capacity + 4096)
        raw = records ? ByteArena(capacity: capacity + 4096) : nil
    }

    func reset(seq: Int, fileIndex: Int, firstDoc: Int64) {
        self.seq = seq
        self.fileIndex = fileIndex
        self.firstDoc = firstDoc
        text.reset(); textEnds.removeAll(keepingCapacity: true)
        raw?.reset(); rawEnds.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        fileOffset = 0
        bytesDecompressed = 0
        endOfFile = nil
        error = nil
    }

    public var count: Int { textEnds.count }

    /// Document `i`'s text; valid while the batch is.
    @inline(__always) public func text(_ i: Int) -> UnsafeRawBufferPointer {
        text.slice(i == 0 ? 0 : textEnds[i - 1], textEnds[i])
    }

    /// Document `i` as written in its file (JSONL: the whole line; text: the document); the
    /// text when the stream does not keep records.
    @inline(__always) public func record(_ i: Int) -> UnsafeRawBufferPointer {
        guard let raw else { return text(i) }
        return raw.slice(i == 0 ? 0 : rawEnds[i - 1], rawEnds[i])
    }

    public func forEachDocument(_ body: (UnsafeRawBufferPointer) -> Void) {
        for i in 0..<count { body(text(i)) }
    }

    var byteCount: Int { text.count + (raw?.count ?? 0) }
}

/// How far a stream has read: the file it is in, compressed bytes consumed and bytes
/// decompressed over all its files, documents delivered.
public final class ReadProgress: Sendable {
    public let file = Atomic<Int>(0)
    public let compressed = Atomic<Int64>(0)
    public let decompressed = Atomic<Int64>(0)
    public let docs = Atomic<Int64>(0)
}

/// The one way every pass reads a corpus: a thread of its own decompresses, splits and
/// extracts documents of the shard's files, in order, and queues them in batches of about
/// `batchBytes` (numbered by `seq`). Batches go round robin over `lanes` queues, so which
/// consumer gets which documents does not depend on timing; or, with `sharedQueue` (for passes
/// whose results are sums, where it does not matter), into one queue that every lane takes from,
/// so that no lane waits while another still has batches. Consumers hand batches back with
/// `recycle` to have their buffers reused.
public final class CorpusStream: @unchecked Sendable {
    /// The files this shard reads, in input order, and their positions among all inputs.
    public let files: [String]
    public let sources: [Int]
    /// Their sizes on disk (the denominator of progress).
    public let totalBytes: Int64
    public let queues: [BoundedQueue<CorpusBatch>]
    /// The only queue when there is one lane.
    public var queue: BoundedQueue<CorpusBatch> { queues[0] }
    public let progress = ReadProgress()
    private let spare = Locked<[CorpusBatch]>([])
    private let batchBytes: Int
    /// Batches a queue holds in the pass.
    private let depth: Int
    /// Batches kept for reuse.
    private let spareLimit: Int
    private let records: Bool
    private var thread: JoinableThread?
    private var stopFlag: sig_atomic_t = 0

    /// Starts reading the shard `shard` of `inputs` (files, in input order).
    /// - records: keep each document's record as written (passes that write documents back).
    /// - positions: keep each document's position in its file, line and byte offset.
    /// - readAhead: bytes of batches (over all lanes) the reader may queue until `settle()`,
    ///   for a pass that starts the stream before its own setup so that the reader works
    ///   meanwhile; then, as without it, 3 batches a lane with several lanes, 4 with one.
    /// - sharedQueue: one queue for all `lanes` (`queue`), holding as many batches as theirs would.
    public init(inputs: [String], read: ReadOptions, shard: ShardSpec = .whole, records: Bool = false,
                positions: Bool = false, lanes: Int = 1, sharedQueue: Bool = false, batchBytes: Int = 4 << 20, readAhead: Int = 0) {
        sources = shard.files(of: inputs)
        files = sources.map { inputs[$0] }
        totalBytes = files.reduce(Int64(0)) { $0 + (fileSize($1) ?? 0) }
        self.batchBytes = batchBytes
        self.records = records
        let lanes = max(1, lanes)
        let queueCount = sharedQueue ? 1 : lanes
        let depth = (lanes > 1 ? 3 : 4) * (lanes / queueCount)
        self.depth = depth
        spareLimit = 4 * lanes
        let first = max(depth, readAhead / max(1, batchBytes) / queueCount)
        queues = (0..<queueCount).map { _ in BoundedQueue<CorpusBatch>(capacity: first) }
        thread = JoinableThread { [unowned self] in self.run(read, shard, positions) }
    }

    /// Ends the read-ahead: from now on each queue holds its usual number of batches (what is
    /// queued already stays).
    public func settle() {
        for q in queues { q.setCapacity(depth) }
    }

    /// Returns a batch the caller is done with, for reuse.
    public func recycle(_ b: CorpusBatch) {
        spare.withLock { if $0.count < spareLimit { $0.append(b) } }
    }

    private func batch(seq: Int, fileIndex: Int, firstDoc: Int64) -> CorpusBatch {
        let b = spare.withLock { $0.popLast() } ?? CorpusBatch(capacity: batchBytes, records: records)
        b.reset(seq: seq, fileIndex: fileIndex, firstDoc: firstDoc)
        return b
    }

    private func run(_ o: ReadOptions, _ shard: ShardSpec, _ positions: Bool) {
        defer { for q in queues { q.close() } }
        var seq = 0
        var doc: Int64 = 0
        var doneCompressed: Int64 = 0, doneDecompressed: Int64 = 0
        func push(_ b: CorpusBatch) {
            queues[seq % queues.count].push(b)
            seq += 1
            progress.compressed.store(doneCompressed + b.fileOffset, ordering: .relaxed)
            progress.decompressed.store(doneDecompressed + b.bytesDecompressed, ordering: .relaxed)
            progress.docs.store(doc, ordering: .relaxed)
        }
        for (fi, path) in files.enumerated() {
            progress.file.store(fi, ordering: .relaxed)
            let format = o.format(of: path)
            var b = batch(seq: seq, fileIndex: fi, firstDoc: doc)
            do {
                let reader = try DocumentReader(path: path, format: format, policy: o.onError, maxLineBytes: o.maxLineBytes)
                var position: Int64 = -1
                var delivered: Int64 = 0
                try reader.forEachRecord { text, record in
                    if stopFlag != 0 { return }
                    position += 1
                    if !shard.reads(position: position) { return }
                    b.text.append(text)
                    b.textEnds.append(b.text.count)
                    if let r = b.raw {
                        r.append(record)
                        b.rawEnds.append(r.count)
                    }
                    if positions {
                        b.positions.append(position)
                        b.lines.append(reader.recordLine)
                        b.offsets.append(reader.recordOffset)
                    }
                    doc += 1
                    delivered += 1
                    if b.byteCount >= batchBytes {
                        b.fileOffset = reader.fileOffset
                        b.bytesDecompressed = reader.bytesRead
                        push(b)
                        b = batch(seq: seq, fileIndex: fi, firstDoc: doc)
                    }
                }
                if stopFlag != 0 { return }
                b.fileOffset = reader.fileOffset
                b.bytesDecompressed = reader.counters.bytesDecompressed
                if case .jsonl = format {
                    b.endOfFile = FileEnd(counters: reader.counters, container: reader.container, jsonl: true, docs: delivered)
                } else {
                    b.endOfFile = FileEnd(counters: reader.counters, container: reader.container, jsonl: false, docs: delivered)
                }
                push(b)
                doneCompressed += b.fileOffset
                doneDecompressed += b.bytesDecompressed
            } catch {
                b.error = error
                push(b)
                return
            }
        }
    }

    /// Stops reading and waits for the thread (drains what it already queued).
    public func stop() {
        stopFlag = 1
        for q in queues { while q.pop() != nil {} }
        thread?.join()
        thread = nil
    }

    /// Draws the reader's position on `line` (a no-op when the line is disabled).
    public func show(on line: inout ProgressLine, tokens: Int64? = nil, extra: String = "") {
        guard line.enabled else { return }
        line.update(done: progress.compressed.load(ordering: .relaxed), docs: progress.docs.load(ordering: .relaxed),
                    tokens: tokens, decompressed: progress.decompressed.load(ordering: .relaxed), extra: extra)
    }
}

extension CorpusStream {
    /// Runs the passes's lanes (each takes this stream's batches from its queue) on threads of
    /// their own until every one returns; calls `tick` every `seconds` meanwhile (progress), and on
    /// SIGINT/SIGTERM stops reading, waits for the lanes and throws `Interrupted`.
    public func runLanes(_ lanes: [@Sendable () -> Void], every seconds: Double, tick: () -> Void) throws {
        let finished = Latch(count: lanes.count)
        var threads = lanes.map { lane in JoinableThread { lane(); finished.arrive() } }
        defer { for t in threads { t.join() } }
        while !finished.wait(seconds: seconds) {
            if interruptFlag != 0 {
                stop()
                for t in threads { t.join() }
                threads = []
                throw Interrupted()
            }
            tick()
        }
        for t in threads { t.join() }
        threads = []
    }
}

/// Runs `work` over a stream's batches on several threads and hands the results back in stream
/// order. Results wait in a reorder window of bounded size, so memory stays bounded however
/// uneven the batches are. A batch that carries a read error skips `work` and arrives with a
/// nil result.
public final class OrderedPool<Out>: @unchecked Sendable {
    private var ready: [Int: (CorpusBatch, Out?)] = [:]
    private var nextSeq = 0
    private var running: Int
    private var aborted = false
    private let window: Int
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var threads: [JoinableThread] = []

    public init(input: BoundedQueue<CorpusBatch>, workers: Int, window: Int = 8, work: @escaping @Sendable (Int, CorpusBatch) -> Out) {
        running = workers
        self.window = max(window, workers + 1)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for w in 0..<workers {
            threads.append(JoinableThread { [unowned self] in
                while let b = input.pop() {
                    let out: Out? = b.error == nil ? work(w, b) : nil
                    pthread_mutex_lock(&self.mutex)
                    while !self.aborted && b.seq >= self.nextSeq + self.window { pthread_cond_wait(&self.cond, &self.mutex) }
                    if !self.aborted { self.ready[b.seq] = (b, out) }
                    pthread_cond_broadcast(&self.cond)
                    pthread_mutex_unlock(&self.mutex)
                }
                pthread_mutex_lock(&self.mutex)
                self.running -= 1
                pthread_cond_broadcast(&self.cond)
                pthread_mutex_unlock(&self.mutex)
            })
        }
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&cond)
    }

    /// The next batch in stream order, or nil after the last one.
    public func next() -> (CorpusBatch, Out?)? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while true {
            if let r = ready.removeValue(forKey: nextSeq) {
                nextSeq += 1
                pthread_cond_broadcast(&cond)
                return r
            }
            if running == 0 { return nil }
            pthread_cond_wait(&cond, &mutex)
        }
    }

    /// Waits for the workers (after the input queue is closed or drained).
    public func finish() {
        pthread_mutex_lock(&mutex)
        aborted = true
        ready.removeAll()
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        for t in threads { t.join() }
    }
}
