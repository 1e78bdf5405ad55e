import Counting
import CorpusIO

#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer with stable storage for the lifetime of a batch.
final class ByteArena {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var cap: Int

    init(capacity: Int = 1 << 16) {
        cap = max(capacity, 16)
        base = .allocate(byteCount: cap, alignment: 8)
    }

    deinit { base.deallocate() }

    func append(_ b: UnsafeRawBufferPointer) {
        if count + b.count > cap {
            var c = cap * 2
            while c < count + b.count { c *= 2 }
            let n = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 8)
            n.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = n
            cap = c
        }
        if let s = b.baseAddress, b.count > 0 { (base + count).copyMemory(from: s, byteCount: b.count) }
        count += b.count
    }

    @inline(__always) func slice(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: end - start)
    }
}

/// Documents of one input file, read in order: texts, and (when asked for) the records as they
/// appear in the file, with the line and byte offset where each starts.
public final class RecordBatch: @unchecked Sendable {
    public let seq: Int
    public let fileIndex: Int
    /// The corpus-wide ordinal of the first document (0-based, input order).
    public let firstDoc: Int64
    let text = ByteArena()
    var textEnds: [Int] = []
    let raw: ByteArena?
    var rawEnds: [Int] = []
    public internal(set) var lines: [Int] = []
    public internal(set) var offsets: [Int64] = []
    /// Compressed bytes of the file consumed after this batch (for progress).
    public internal(set) var fileOffset: Int64 = 0
    /// Set on the last batch of a file: what the reader counted, and its container.
    public internal(set) var endOfFile: (SourceCounters, Container)?
    public internal(set) var error: Error?

    init(seq: Int, fileIndex: Int, firstDoc: Int64, keepRaw: Bool) {
        self.seq = seq
        self.fileIndex = fileIndex
        self.firstDoc = firstDoc
        raw = keepRaw ? ByteArena() : nil
    }

    public var count: Int { textEnds.count }

    @inline(__always) public func text(_ i: Int) -> UnsafeRawBufferPointer {
        text.slice(i == 0 ? 0 : textEnds[i - 1], textEnds[i])
    }

    /// The record as written in the file (JSONL: the whole line; text: the document).
    @inline(__always) public func record(_ i: Int) -> UnsafeRawBufferPointer {
        guard let raw else { return text(i) }
        return raw.slice(i == 0 ? 0 : rawEnds[i - 1], rawEnds[i])
    }

    var byteCount: Int { text.count + (raw?.count ?? 0) }
}

/// Reads files on a thread of its own and queues batches of about 4 MiB, numbered in order.
public final class RecordProducer: @unchecked Sendable {
    static let batchBytes = 4 << 20
    public let queue = BoundedQueue<RecordBatch>(capacity: 4)
    private var thread: JoinableThread?
    private var stopFlag: sig_atomic_t = 0

    public init(files: [String], options o: ReadOptions, keepRaw: Bool) {
        thread = JoinableThread { [unowned self] in self.run(files, o, keepRaw) }
    }

    private func run(_ files: [String], _ o: ReadOptions, _ keepRaw: Bool) {
        defer { queue.close() }
        var seq = 0
        var doc: Int64 = 0
        for (fi, path) in files.enumerated() {
            var b = RecordBatch(seq: seq, fileIndex: fi, firstDoc: doc, keepRaw: keepRaw)
            seq += 1
            do {
                let reader = try DocumentReader(path: path, format: o.format(of: path), policy: o.onError,
                                                maxLineBytes: o.maxLineBytes)
                try reader.forEachRecord { text, record in
                    if stopFlag != 0 { return }
                    b.text.append(text)
                    b.textEnds.append(b.text.count)
                    if let r = b.raw {
                        r.append(record)
                        b.rawEnds.append(r.count)
                    }
                    b.lines.append(reader.recordLine)
                    b.offsets.append(reader.recordOffset)
                    doc += 1
                    if b.byteCount >= Self.batchBytes {
                        b.fileOffset = reader.fileOffset
                        queue.push(b)
                        b = RecordBatch(seq: seq, fileIndex: fi, firstDoc: doc, keepRaw: keepRaw)
                        seq += 1
                    }
                }
                if stopFlag != 0 { return }
                b.fileOffset = reader.fileOffset
                b.endOfFile = (reader.counters, reader.container)
                queue.push(b)
            } catch {
                b.error = error
                queue.push(b)
                return
            }
        }
    }

    /// Stops reading and waits for the thread.
    public func stop() {
        stopFlag = 1
        while queue.pop() != nil {}
        thread?.join()
        thread = nil
    }
}

/// Runs `work` over batches on several threads and hands the results back in input order.
/// Results wait in a reorder buffer of bounded size, so memory stays bounded however uneven
/// the batches are. A batch that carries a read error skips `work` and arrives with a nil result.
final class OrderedPool<Out>: @unchecked Sendable {
    private var ready: [Int: (RecordBatch, Out?)] = [:]
    private var nextSeq = 0
    private var running: Int
    private var aborted = false
    private let window: Int
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var threads: [JoinableThread] = []

    init(input: BoundedQueue<RecordBatch>, workers: Int, window: Int = 8, work: @escaping @Sendable (Int, RecordBatch) -> Out) {
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

    /// The next batch in input order, or nil after the last one.
    func next() -> (RecordBatch, Out?)? {
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
    func finish() {
        pthread_mutex_lock(&mutex)
        aborted = true
        ready.removeAll()
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        for t in threads { t.join() }
    }
}
