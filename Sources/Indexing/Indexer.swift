import CorpusIO
import Counting
import IndexStore
import Synchronization
import Tokenization

#if canImport(Glibc)
import Glibc
#endif

/// Everything `tailscope index` needs.
public struct IndexOptions: Sendable {
    public var inputs: [String]
    public var output: String
    public var textField = "text"
    /// nil: decide per file from its name (`.jsonl`, `.json`, `.ndjson` are JSONL).
    public var jsonl: Bool? = nil
    public var docPer: TextSplit = .line
    public var settings = IndexSettings(tokenizer: TokenizerConfig(), maxOrder: 3, minCount: 1)
    public var memoryBytes: Int = 1 << 30
    public var tempDir: String = "/tmp"
    public var jobs: Int = 2
    public var onError: ErrorPolicy = .stop
    public var shard = ShardSpec(index: 1, count: 1, by: .file)
    public var maxLineBytes = 64 << 20
    public var progress = false
    /// Documents are handed from the reader to the counting threads in batches of about this
    /// many bytes (tests make it small to get many batches).
    public var batchBytes = 4 << 20

    public init(inputs: [String], output: String) {
        self.inputs = inputs
        self.output = output
    }
}


extension IndexOptions {
    /// The reading options of this pass as one value.
    public var read: ReadOptions {
        get {
            var r = ReadOptions()
            r.textField = textField; r.jsonl = jsonl; r.docPer = docPer; r.onError = onError; r.maxLineBytes = maxLineBytes
            return r
        }
        set {
            textField = newValue.textField; jsonl = newValue.jsonl; docPer = newValue.docPer
            onError = newValue.onError; maxLineBytes = newValue.maxLineBytes
        }
    }
}

/// What an index run did.
public struct IndexReport: Sendable {
    public var sourcesIndexed: [SourceRecord] = []
    public var sourcesAlreadyIndexed: [String] = []
    public var docs: Int64 = 0
    public var tokens: Int64 = 0
    public var bytes: Int64 = 0
    public var seconds = 0.0
    public var countSeconds = 0.0
    public var writeSeconds = 0.0
    public var spills = 0
    /// Partial indexes written because the vocabulary outgrew its share of `--memory` (merged into
    /// the output at the end; 0 when it fit).
    public var segments = 0
    /// Inputs skipped under `--on-error skip` because they could not be read.
    public var unreadable: [String] = []
    public var output = ""
    public var wroteIndex = false
}

/// Builds (or extends) an index: stream every input, tokenize, count, and write SQLite atomically.
public func buildIndex(_ o: IndexOptions, log: (String) -> Void) throws -> IndexReport {
    let t0 = now()
    var report = IndexReport()
    report.output = o.output
    var files = try expandInputs(o.inputs, log: log)
    if files.isEmpty { throw IndexingError("no input files") }
    try checkIndexOutput(o.output, inputs: files.map { NamedPath("", $0) })
    cleanLeftovers(outputs: [o.output], tempDir: o.settings.maxOrder >= 2 ? o.tempDir : nil, log: log)
    files = o.shard.files(of: files).map { files[$0] }
    let shardName = o.shard.description

    // An existing index is extended: its settings must match, and sources it has are skipped.
    var existing: IndexReader? = nil
    if fileExists(o.output) {
        let r = try IndexReader(path: o.output)
        let s = try IndexSettings(meta: r.meta)
        if let why = o.settings.mismatch(s) {
            throw IndexingError("\(o.output) was built with other settings (\(why)); use a new output file")
        }
        existing = r
    }
    // Checksums identify sources already in an index being extended, so they come first then;
    // for a new index they are computed on a helper thread while the files are counted.
    var todo: [(path: String, size: Int64)] = []
    var upfront: [FileChecksum] = []
    if let r = existing {
        let known = Set(try r.sources().map { "\($0.checksum)|\($0.shard)" })
        for f in files {
            let c: FileChecksum
            do {
                c = try FileChecksum.of(path: f)
            } catch {
                guard o.onError == .skip, error.kind == .unreadable else { throw error }
                report.unreadable.append(f)
                log("\(f): skipped 1 unreadable (\(error.detail))")
                continue
            }
            if known.contains("\(c)|\(shardName)") {
                report.sourcesAlreadyIndexed.append(f)
                log("\(f): already in \(o.output) (same checksum), skipped")
            } else {
                todo.append((f, c.size))
                upfront.append(c)
            }
        }
    } else {
        todo = files.map { ($0, fileSize($0)) }
    }
    // Nothing new for an existing index: done. (A shard that gets no file still writes an empty
    // index, so that an array's merge finds every shard.)
    if todo.isEmpty && existing != nil {
        report.seconds = now() - t0
        return report
    }

    let vocab = Vocabulary()
    let maxOrder = o.settings.maxOrder
    // Tables get three quarters of the budget; the vocabulary, I/O buffers and SQLite's page
    // cache live in the rest.
    let counter: NGramCounter? = maxOrder >= 2
        ? try NGramCounter(config: CounterConfig(maxOrder: maxOrder, workers: o.jobs,
                                                 tableBudget: o.memoryBytes / 4 * 3, tempDir: o.tempDir))
        : nil
    defer { counter?.removeSpillDir() }

    // Seed with the existing index (ids are remapped through token text).
    var priorDocs: Int64 = 0, priorTokens: Int64 = 0
    if let r = existing {
        try seed(from: r, vocab: vocab, counter: counter, maxOrder: maxOrder)
        let m = try r.metadata
        priorDocs = m.docs
        priorTokens = m.tokens
    }

    let totalBytes = todo.reduce(Int64(0)) { $0 + $1.size }
    let tCount = now()

    // A reader thread decompresses and extracts documents; counting lanes tokenize and count
    // them (and the n-gram counter's workers, if any, count n-grams). Unigram counting runs one
    // lane per job, each with its own vocabulary, merged at the end; with n-grams one lane feeds
    // the counter, whose ids must come from one vocabulary.
    let background = existing == nil ? ChecksumTask(paths: todo.map(\.path), skipUnreadable: o.onError == .skip) : nil
    let laneCount = counter == nil ? max(1, o.jobs) : 1
    let reader = CorpusStream(inputs: todo.map(\.path), read: o.read, shard: o.shard.withinFiles, lanes: laneCount,
                              batchBytes: o.batchBytes)
    defer { reader.stop() }
    let lanes = (0..<laneCount).map { k in
        CountingLane(queue: reader.queues[k], recycle: { [unowned reader] in reader.recycle($0) }, tokenizer: Tokenizer(config: o.settings.tokenizer),
                     vocab: k == 0 ? vocab : Vocabulary(), counter: counter, files: todo.count)
    }
    // The vocabulary's share of the budget: what the n-gram tables leave (a quarter), or with
    // unigrams only three quarters split over the lanes (each counts its own). Distinct tokens grow
    // with the tokens of a shard (Heaps' law: docs/cluster.md), so large shards need more.
    // (At least 16 MiB: an empty vocabulary's tables take 0.6 MiB, and tests force the n-gram
    // tables to spill with budgets of 1 MiB.)
    let vocabularyShare = max(16 << 20, counter == nil ? o.memoryBytes / 4 * 3 / laneCount : o.memoryBytes / 4)
    let segmentDir = Locked<SegmentDirectory?>(nil)
    defer { segmentDir.withLock { $0?.remove() } }
    let segmentConfig = counter?.config
    for lane in lanes {
        lane.vocabularyBudget = vocabularyShare
        lane.cut = { v, c in
            let dir = try segmentDir.withLock { d -> Result<SegmentDirectory, Error> in
                if let d { return .success(d) }
                do { let n = try SegmentDirectory(tempDir: o.tempDir); d = n; return .success(n) } catch { return .failure(error) }
            }.get()
            try writeSegment(dir.next(), vocab: v, counter: c, settings: o.settings, cacheBytes: min(64 << 20, o.memoryBytes / 8))
            c?.removeSpillDir()
            c?.releaseTables()
            v.release()
            return (Vocabulary(), try segmentConfig.map { try NGramCounter(config: $0) })
        }
    }
    var progressLine = ProgressLine(label: "", total: totalBytes, enabled: o.progress)
    try reader.runLanes(lanes.map { lane in { lane.run() } }, every: o.progress ? 0.5 : 0.1) {
        guard o.progress else { return }
        let toks = lanes.reduce(Int64(0)) { $0 + $1.tokensCounted.load(ordering: .relaxed) }
        progressLine.label = progressFile(todo[min(todo.count - 1, reader.progress.file.load(ordering: .relaxed))].path)
        reader.show(on: &progressLine, tokens: toks, extra: "spills \(lanes[0].counter?.spills ?? 0)")
    }
    if let e = lanes.lazy.compactMap(\.error).first { throw e }
    try checkInterrupt()
    let checksums: [FileChecksum?] = try existing != nil ? upfront : background!.wait()

    // Record every file, in input order.
    for (fi, f) in todo.enumerated() {
        guard let end = lanes.lazy.compactMap({ $0.ends[fi] }).first else { continue }
        let fileTokens = lanes.reduce(Int64(0)) { $0 + $1.fileTokens[fi] }
        let invalid = lanes.reduce(Int64(0)) { $0 + $1.fileInvalid[fi] }
        let c = end.counters
        // Under --on-error skip a file that cannot be read is counted and not recorded as a
        // source (a later run tries it again).
        guard let checksum = checksums[fi], !(end.docs == 0 && c.skipped[.unreadable] != nil && c.lines == 0) else {
            report.unreadable.append(f.path)
            log("\(f.path): skipped 1 unreadable\(checksums[fi] == nil ? "" : " (it could not be opened)")")
            continue
        }
        var skipped: [String: Int64] = [:]
        for (k, v) in c.skipped { skipped[k.rawValue] = v }
        let rec = SourceRecord(
            path: f.path, size: checksum.size, checksum: checksum.description, container: end.container.rawValue,
            format: end.jsonl ? "jsonl:\(o.textField)" : "text:\(o.docPer.rawValue)", shard: shardName,
            docs: end.docs, tokens: fileTokens, bytesDecompressed: c.bytesDecompressed, lines: c.lines,
            blankLines: c.blankLines, replacedInvalidUTF8: c.replacedInvalidUTF8 + invalid,
            skipped: skipped, incomplete: c.incomplete, indexedAt: isoNow())
        report.sourcesIndexed.append(rec)
        report.bytes += c.bytesDecompressed
        report.tokens += fileTokens
        let skippedTotal = c.skipped.values.reduce(0, +)
        if skippedTotal > 0 {
            let parts = c.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
            log("\(f.path): skipped \(parts.joined(separator: ", "))\(c.incomplete ? " (rest of file unreadable)" : "")")
        }
    }
    if report.sourcesIndexed.isEmpty && existing == nil, let first = report.unreadable.first {
        throw InputError(.unreadable, path: first, "no input could be read (\(report.unreadable.count) unreadable file(s) skipped)")
    }
    report.docs = lanes.reduce(Int64(0)) { $0 + $1.docsCounted.load(ordering: .relaxed) }
    if let c = lanes[0].counter, counter != nil { try c.finishInput() }
    report.segments = lanes.reduce(0) { $0 + $1.segments }
    progressLine.finish()
    report.countSeconds = now() - tCount

    // Write.
    let tWrite = now()
    // The vocabulary outgrew its budget: what each lane holds now is one more segment, and the
    // index is the merge of the segments (vocabularies as sorted streams, n-grams in the tables'
    // budget), exactly what one pass would have counted.
    var segmentPaths: [String] = []
    if report.segments > 0, let dir = segmentDir.withLock({ $0 }) {
        for lane in lanes {
            try writeSegment(dir.next(), vocab: lane.vocab, counter: lane.counter, settings: o.settings,
                             cacheBytes: min(64 << 20, o.memoryBytes / 8))
            lane.counter?.removeSpillDir()
            lane.counter?.releaseTables()
            lane.vocab.release()
        }
        segmentPaths = dir.paths
        log("the vocabulary outgrew its share of --memory (\(formatBytes(Double(vocabularyShare)))): merging \(segmentPaths.count) partial indexes")
    }
    let writer = try IndexWriter(path: o.output, maxOrder: maxOrder, cacheBytes: min(64 << 20, o.memoryBytes / 8))
    do {
        let exact = existing?.meta["counts_exact"] ?? "1"
        try writer.setMeta(o.settings.metaPairs + [
            ("tool", "tailscope"), ("tool_version", tailscopeVersion), ("schema_version", "\(IndexWriter.schemaVersion)"),
            ("docs", "\(priorDocs + report.docs)"), ("tokens", "\(priorTokens + report.tokens)"),
            ("created_at", existing?.meta["created_at"] ?? isoNow()), ("updated_at", isoNow()),
            ("counts_exact", exact),
        ])
        try writer.addSources((try existing?.sources() ?? []) + report.sourcesIndexed)
        if !segmentPaths.isEmpty {
            let readers = try segmentPaths.map { try IndexReader(path: $0) }
            report.spills = try mergeCounts(readers, into: writer, settings: o.settings, memoryBytes: o.memoryBytes,
                                            tempDir: o.tempDir, jobs: o.jobs, log: log)
        } else if counter == nil {
            // Unigrams only: the lanes' vocabularies, merged in token order.
            try writer.writeSortedVocabulary(lanes.compactMap(\.sorted))
        } else {
            try writer.writeVocabulary(vocab)
        }
        if let c = counter, segmentPaths.isEmpty {
            for n in 2...maxOrder {
                try checkInterrupt()
                let sink = try writer.ngramSink(order: n)
                let summary = try c.merge(order: n, minCount: o.settings.minCount, topK: storedTopK,
                                          sink: InterruptibleSink(sink))
                try sink.finish()
                try writer.writeSummary(summary) { vocab.string($0) }
            }
            report.spills = c.spills
        }
        try checkInterrupt()
        try writer.commit()
    } catch {
        writer.abandon()
        throw error
    }
    report.wroteIndex = true
    report.writeSeconds = now() - tWrite
    report.seconds = now() - t0
    return report
}

private func progressFile(_ p: String) -> String {
    let name = p.split(separator: "/").last.map(String.init) ?? p
    return name.count > 40 ? "…" + String(name.suffix(39)) : name
}

private func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}

/// Checks for Ctrl-C every 64k rows while writing.
final class InterruptibleSink: NGramRowSink {
    let inner: NGramRowSink
    var n = 0
    init(_ inner: NGramRowSink) { self.inner = inner }
    func row(_ ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws {
        n &+= 1
        if n & 0xFFFF == 0 { try checkInterrupt() }
        try inner.row(ids, count: count, df: df)
    }
}

/// Loads an index's vocabulary and n-grams into a vocabulary and counter (ids remapped by text).
func seed(from r: IndexReader, vocab: Vocabulary, counter: NGramCounter?, maxOrder: Int) throws {
    let map = try seedVocabulary(from: r, vocab: vocab)
    if let c = counter { try seedNGrams(from: r, map: map, counter: c, worker: 0, maxOrder: maxOrder) }
}

/// Adds an index's unigrams to `vocab`; returns its ids' new ids.
func seedVocabulary(from r: IndexReader, vocab: Vocabulary) throws -> [UInt32] {
    var map: [UInt32] = []
    try r.forEachToken { id, bytes, count, df in
        let newId = vocab.intern(bytes)
        vocab.addCounted(newId, count: count, df: df)
        if Int(id) >= map.count { map.append(contentsOf: repeatElement(UInt32.max, count: Int(id) + 1 - map.count)) }
        map[Int(id)] = newId
    }
    return map
}

/// Adds an index's n-grams (orders 2...) to one worker of `counter`, through `map`.
func seedNGrams(from r: IndexReader, map: [UInt32], counter c: NGramCounter, worker: Int, maxOrder: Int) throws {
    guard maxOrder >= 2 else { return }
    let ids = UnsafeMutablePointer<UInt32>.allocate(capacity: maxOrder)
    defer { ids.deallocate() }
    for n in 2...min(maxOrder, r.maxOrder) {
        try r.forEachNGram(order: n) { old, count, df in
            for k in 0..<n { ids[k] = map[Int(old[k])] }
            try c.addCounted(worker: worker, order: n, ids: ids, count: count, df: df)
        }
    }
}

/// Where the segments of one run go: a spill-named directory in the temp dir (so `clean` and
/// later runs remove it if the run is killed), locked while the run lives.
final class SegmentDirectory: @unchecked Sendable {
    let path: String
    private var lockFD: Int32 = -1
    private let written = Locked<[String]>([])
    var paths: [String] { written.withLock { $0 } }

    init(tempDir: String) throws {
        var template = Array("\(tempDir)/\(TempFiles.spillPrefix)\(getpid())-segments-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw IndexingError("cannot create a directory for partial indexes in \(tempDir): \(String(cString: strerror(errno)))")
        }
        path = String(cString: template)
        lockFD = open(path + "/lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if lockFD >= 0 { TempFiles.lock(lockFD) }
    }

    /// A new segment's path.
    func next() -> String {
        written.withLock { p in
            p.append("\(path)/segment-\(p.count + 1).sqlite")
            return p.last!
        }
    }

    func remove() {
        removeTree(path)
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }
}

/// Writes a partial index: the vocabulary and every n-gram the counter holds (no --min-count:
/// the final merge applies it to the summed counts).
func writeSegment(_ path: String, vocab: Vocabulary, counter: NGramCounter?, settings: IndexSettings, cacheBytes: Int) throws {
    let writer = try IndexWriter(path: path, maxOrder: settings.maxOrder, cacheBytes: cacheBytes)
    do {
        var all = settings
        all.minCount = 1
        try writer.setMeta(all.metaPairs + [("tool", "tailscope"), ("tool_version", tailscopeVersion), ("docs", "0"), ("tokens", "0"),
                                            ("created_at", isoNow()), ("counts_exact", "1")])
        try writer.writeVocabulary(vocab)
        if let c = counter {
            try c.finishInput()
            for n in 2...settings.maxOrder {
                let sink = try writer.ngramSink(order: n)
                let summary = try c.merge(order: n, minCount: 1, topK: 0, sink: InterruptibleSink(sink))
                try sink.finish()
                try writer.writeSummary(summary) { vocab.string($0) }
            }
        }
        try writer.commit()
    } catch {
        writer.abandon()
        throw error
    }
}

/// Refuses an index output that is one of the inputs, or not a regular file (an index is a
/// SQLite file: `/dev/null` or `-` cannot hold one). Checked before anything is read.
func checkIndexOutput(_ output: String, inputs: [NamedPath]) throws {
    let d = try checkOutputs(inputs: inputs, outputs: [NamedPath("-o", output)])
    guard case .atomic = d[0] else {
        throw UsageError("-o \(output) is not a regular file; an index is a SQLite file and needs a file name")
    }
}
