import CorpusIO
import Counting
import Evaluation
import Indexing
import IndexStore
import Statistics
import Tokenization

#if canImport(Glibc)
import Glibc
#endif

/// Size and vocabulary of a corpus before or after pruning.
public struct StageSummary: Sendable, Equatable {
    public var docs: Int64 = 0
    public var tokens: Int64 = 0
    public var types: Int64 = 0
    public var hapax: Int64 = 0
    /// Decompressed bytes: of the input files before, of the written records after.
    public var bytes: Int64 = 0
    public var hapaxShare: Double { types == 0 ? 0 : Double(hapax) / Double(types) }
}

/// What one step did.
public struct StepSummary: Sendable {
    public let step: PruneStep
    public internal(set) var parameters: String
    public var docsIn: Int64 = 0
    public var tokensIn: Int64 = 0
    public var dropped: Int64 = 0
    public var tokensDropped: Int64 = 0
    /// reason -> (docs, tokens)
    public var reasons: [String: (docs: Int64, tokens: Int64)] = [:]
}

/// Coverage of eval questions' content terms before and after.
public struct CoverageSummary: Sendable {
    public var questions = 0
    public var terms = 0
    /// Per stage (before, after): distinct terms with count 0, and questions whose rarest
    /// content term has count 0, < 10, < 100.
    public var unseenTerms = [0, 0]
    public var rarestZero = [0, 0]
    public var rarestUnder10 = [0, 0]
    public var rarestUnder100 = [0, 0]
}

public struct PruneReport: Sendable {
    public var inputs: [String] = []
    public var output: String?
    public var outputBytes: Int64 = 0
    public var manifest: String?
    public var dryRun = false
    public var before = StageSummary()
    public var after = StageSummary()
    public var steps: [StepSummary] = []
    public var minhash: MinHashParams?
    /// Balancing: the expected number of documents it keeps (sum over the documents reaching it
    /// of 1 - prod(1 - p_e)) and the standard deviation of that number.
    public var balanceExpected: (mean: Double, sd: Double)? = nil
    public var keepCutoff: Double? = nil
    /// `--keep hard|easy`: the k-means fit.
    public var prototypes: PrototypeFit? = nil
    public var scoreSeconds = 0.0
    public var coverage: CoverageSummary? = nil
    public var skipped: [String: Int64] = [:]
    public var seconds = 0.0
    public var analyzeSeconds = 0.0
    public var writeSeconds = 0.0
    public var peakRSS = 0
    /// A phase of a sharded prune (`plan`, `resolve`, `apply`, `finish`), or nil for one process.
    public var phase: String? = nil
    public var shard: ShardSpec? = nil
    /// The phase's file in the work directory.
    public var stageFile: String? = nil
    /// The phase's file was already complete for these settings and inputs: nothing was done.
    public var alreadyComplete = false
    /// `finish`: the curated parts, in shard order.
    public var outputs: [String] = []
}

enum OutKind { case jsonl, text }

/// Writes kept records in the output's format: JSONL lines as they were, text documents as
/// lines or blank-line separated paragraphs, or text documents as {"text": ...} lines.
final class RecordEmitter {
    let sink: AtomicSink?
    let outKind: OutKind
    let formats: [DocumentFormat]
    var out: [UInt8] = []
    var docs: Int64 = 0
    var bytes: Int64 = 0

    init(sink: AtomicSink?, outKind: OutKind, formats: [DocumentFormat]) {
        self.sink = sink; self.outKind = outKind; self.formats = formats
        out.reserveCapacity(1 << 20)
    }

    func emit(_ b: CorpusBatch, _ d: Int) throws {
        switch (formats[b.fileIndex], outKind) {
        case (.jsonl, _):
            out.append(contentsOf: b.record(d)); out.append(0x0A)
        case (.text, .jsonl):
            appendJSONTextRecord(b.text(d), to: &out)
        case (.text(.paragraph), .text):
            out.append(contentsOf: b.text(d)); out.append(0x0A); out.append(0x0A)
        case (.text, .text):
            out.append(contentsOf: b.text(d)); out.append(0x0A)
        }
        docs += 1
        if out.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        bytes += Int64(out.count)
        try sink?.write(out)
        out.removeAll(keepingCapacity: true)
    }

    /// Flushes and commits the output file.
    func finish() throws {
        try flush()
        try sink?.commit()
    }
}

final class Shared<T>: @unchecked Sendable {
    var value: T
    init(_ v: T) { value = v }
}

/// The checks every form of `prune` makes before reading: a step is chosen, `--keep` has one
/// target.
func checkSteps(_ o: PruneOptions) throws {
    guard o.anyStep else {
        throw PruneUsageError("choose at least one step: --dedup exact, --near-dup T, --decontaminate FILE, --balance T, --keep MODE")
    }
    if o.keep != nil && (o.targetFraction == nil) == (o.targetTokens == nil) {
        throw PruneUsageError("--keep needs exactly one of --target-fraction F or --target-tokens N")
    }
}

/// Every file `prune` reads, named by its flag, for the output checks.
func pruneInputPaths(_ o: PruneOptions, _ files: [String]) -> [NamedPath] {
    var inputPaths = files.map { NamedPath("", $0) }
    inputPaths += (o.decontaminate.map { NamedPath("--decontaminate", $0) } + o.coverageEvals.map { NamedPath("--eval", $0) })
    if let i = o.index { inputPaths.append(NamedPath("--index", i)) }
    if let e = o.entriesFile { inputPaths.append(NamedPath("--entries", e)) }
    return inputPaths
}

/// The output format: from -o's name; JSONL for standard output, a device or a FIFO (`-o -`,
/// `-o /dev/null`); else the input's. JSONL records cannot become plain text.
func outputKind(_ o: PruneOptions, files: [String], output: String?, toStream: Bool) throws -> OutKind {
    let outKind: OutKind = output.map { toStream || isJSONLName($0) ? .jsonl : .text }
        ?? (files.allSatisfy { if case .jsonl = o.read.format(of: $0) { return true } else { return false } } ? .jsonl : .text)
    for f in files {
        switch (o.read.format(of: f), outKind) {
        case (.jsonl, .text):
            throw PruneUsageError("\(f) is JSONL; its records keep their fields only in a JSONL output (name -o *.jsonl.zst)")
        case (.text(.file), .text):
            throw PruneUsageError("with --doc-per file, documents can only be written one per line of a JSONL output (name -o *.jsonl.zst)")
        default: break
        }
    }
    return outKind
}

/// Reads a stream with the workers analyzing batches, and hands each document's features to
/// `document` in stream order, then each file's end to `fileEnd`. Single-process `prune` and
/// `prune --plan` both read this way.
func analyzeStream(_ stream: CorpusStream, workers: [PruneWorker], label: String, progress: Bool,
                   document: (CorpusBatch, BatchFeatures, Int, DocFeatures) throws -> Void,
                   fileEnd: (CorpusBatch, FileEnd) throws -> Void) throws {
    let ws = Shared(workers)
    let sources = stream.sources
    let perms = workers.first?.ctx.minhash?.perms ?? 0
    let pool = OrderedPool<BatchFeatures>(input: stream.queue, workers: workers.count) { w, b in
        let f = ws.value[w].analyze(b, source: sources[b.fileIndex])
        f.worker = w
        return f
    }
    defer { stream.stop(); pool.finish() }
    var line = ProgressLine(label: label, total: stream.totalBytes, enabled: progress)
    while let (b, features) = pool.next() {
        if let e = b.error { throw e }
        let f = features!
        try f.signatures.withUnsafeBufferPointer { sig in
            for d in 0..<b.count { try document(b, f, d, f.features(d, signatures: sig, perms: perms)) }
        }
        if let end = b.endOfFile { try fileEnd(b, end) }
        try checkInterrupt()
        stream.show(on: &line)
    }
    line.finish()
}

/// Runs the steps over the corpus: one pass decides (dedup, decontaminate, near-dup, balance, and
/// the scores for --keep), the --keep selection runs on those scores, and a second pass writes
/// the kept records in input order (and counts the kept corpus's vocabulary).
public func prune(_ o: PruneOptions, log: @escaping (String) -> Void) throws -> PruneReport {
    let t0 = now()
    try checkSteps(o)
    guard o.dryRun || o.output != nil else { throw PruneUsageError("give -o FILE for the curated corpus, or --dry-run") }
    let files = try expandInputs(o.inputs, log: log)
    // No output may be an input or another output (compared by resolved path and inode), and
    // the manifest, a SQLite file, must be a regular file. Checked before anything is read.
    var outputPaths: [NamedPath] = []
    if !o.dryRun, let out = o.output { outputPaths.append(NamedPath("-o", out)) }
    if let m = o.manifest { outputPaths.append(NamedPath("--manifest", m)) }
    let destinations = try checkOutputs(inputs: pruneInputPaths(o, files), outputs: outputPaths)
    cleanLeftovers(outputs: outputPaths.map(\.path), tempDir: nil, log: log)
    if o.manifest != nil, case .atomic = destinations.last! {} else if o.manifest != nil {
        throw UsageError("--manifest \(o.manifest!) is not a regular file; the manifest is a SQLite file and needs a file name")
    }
    let toStream: Bool
    if !o.dryRun, o.output != nil, case .atomic = destinations[0] { toStream = false } else { toStream = !o.dryRun && o.output != nil }
    let outKind = try outputKind(o, files: files, output: o.output, toStream: toStream)

    let ctx = try PruneContext(o, log: log)
    var report = PruneReport()
    report.inputs = files
    report.output = o.dryRun ? nil : o.output
    report.manifest = o.manifest
    report.dryRun = o.dryRun
    report.minhash = ctx.minhash

    let manifest = try o.manifest.map { path throws(StoreError) in try ManifestWriter(path: path) }
    defer { manifest?.abandon() }

    // ---- Pass 1: decide.
    let decider = Decider(o, ctx)
    var decision: [UInt8] = []
    var docTokens: [Int32] = []
    var scores: [Float] = []
    let usesPrototypes = o.keep?.usesPrototypes ?? false
    var sample = PrototypeSample(capacity: Prototypes.sample, dims: Prototypes.dims)

    // Without --keep every decision is final when it is made: one pass decides and writes, and
    // the kept corpus's counts are the input's minus those of the dropped documents. With
    // --keep, a second pass writes after the selection.
    let singlePass = o.keep == nil
    let workers = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: singlePass) }
    var dropCounts = [[UInt32]](repeating: [], count: o.workers)
    let formats = files.map { o.read.format(of: $0) }
    let makeSink = { () throws -> AtomicSink? in
        try o.dryRun ? nil : AtomicSink(path: o.output!, compression: OutputCompression.forName(o.output!),
                                        level: o.zstdLevel, threads: o.workers)
    }
    let emitter1 = singlePass ? RecordEmitter(sink: try makeSink(), outKind: outKind, formats: formats) : nil
    defer { emitter1?.sink?.abandon() }
    let t1 = now()
    var protoAt = 0
    var protoBatch = -1
    try analyzeStream(CorpusStream(inputs: files, read: o.read, records: singlePass, positions: true), workers: workers,
                      label: "prune: deciding:", progress: o.progress, document: { b, f, d, x in
        let doc = b.firstDoc + Int64(d)
        let drop = decider.decide(doc: doc, x)
        if usesPrototypes {
            if protoBatch != b.seq { protoBatch = b.seq; protoAt = 0 }
            while protoAt < f.protoDocs.count && Int(f.protoDocs[protoAt]) < d { protoAt += 1 }
            if drop == nil, protoAt < f.protoDocs.count, Int(f.protoDocs[protoAt]) == d {
                f.protoVectors.withUnsafeBufferPointer { v in
                    sample.offer(doc: doc, priority: f.protoPriority[protoAt], vector: v.baseAddress! + protoAt * Prototypes.dims)
                }
                if sample.isFull { ctx.sampleThreshold.store(sample.threshold.bitPattern, ordering: .relaxed) }
            }
        }
        decision.append(drop?.step.code ?? 0)
        docTokens.append(Int32(clamping: x.tokens))
        let score: Double? = o.keep == nil || usesPrototypes ? nil : x.score
        if o.keep != nil { scores.append(Float(score ?? .nan)) }
        try manifest?.addDocument(doc: doc, source: b.fileIndex, position: b.positions[d], line: b.lines[d], offset: b.offsets[d],
                                  tokens: Int(x.tokens), step: drop?.step.rawValue, reason: drop?.verdict.reason,
                                  detail: drop?.verdict.detail, score: score, matchDoc: drop?.verdict.matchDoc,
                                  similarity: drop?.verdict.similarity)
        report.before.docs += 1
        report.before.tokens += x.tokens
        if let em = emitter1 {
            if drop == nil {
                try em.emit(b, d)
            } else {
                // Take the dropped document's tokens off the input's counts.
                let lo = d == 0 ? 0 : f.idEnds[d - 1], hi = f.idEnds[d]
                for k in lo..<hi {
                    let id = Int(f.docIds[k])
                    if id >= dropCounts[f.worker].count {
                        dropCounts[f.worker].append(contentsOf: repeatElement(0, count: id + 1 - dropCounts[f.worker].count + 1024))
                    }
                    dropCounts[f.worker][id] += 1
                }
            }
        }
    }, fileEnd: { b, end in
        let counters = end.counters
        report.before.bytes += counters.bytesDecompressed
        var skipped: Int64 = 0
        for (k, v) in counters.skipped { report.skipped[k.rawValue, default: 0] += v; skipped += v }
        try manifest?.addSource(b.fileIndex, path: files[b.fileIndex], format: formatName(formats[b.fileIndex], end.container),
                                docs: counters.docs, bytesDecompressed: counters.bytesDecompressed,
                                skipped: skipped, incomplete: counters.incomplete)
    })
    if let em = emitter1 {
        try em.finish()
        report.after.docs = em.docs
        report.after.bytes = em.bytes
        report.outputBytes = em.sink?.bytesOut ?? 0
    }
    report.analyzeSeconds = now() - t1
    report.balanceExpected = decider.balanceExpected
    let keepAt = decider.steps.firstIndex(of: .keep)

    // ---- --keep hard|easy: fit prototypes on the sample, then score every document the other
    // steps kept by its cosine distance to the nearest prototype (a pass that only reads).
    if usesPrototypes {
        let t = now()
        if sample.count > 0 {
            let (x, _) = sample.rows()
            let model = SphericalKMeans.fit(x, count: sample.count, dims: Prototypes.dims, k: o.clusters, seed: o.seed,
                                            maxIterations: Prototypes.maxIterations, tolerance: Prototypes.tolerance)
            report.prototypes = PrototypeFit(sampled: sample.count, clusters: model.k, iterations: model.iterations,
                                             converged: model.converged, meanSimilarity: model.meanSimilarity,
                                             sizes: model.sizes, seconds: now() - t)
            decider.summaries[keepAt!].parameters = prototypeParameters(o, model, sampled: sample.count)
            for c in 0..<model.k {
                try manifest?.addPrototype(cluster: c, size: model.sizes[c],
                                           centroid: Array(model.centroids[(c * model.dims)..<((c + 1) * model.dims)]))
            }
            log("keep \(o.keep!.rawValue): k-means with \(model.k) clusters on \(sample.count) sampled documents, \(model.iterations) iteration(s)\(model.converged ? "" : " (not converged)"), mean cosine similarity \(fmt(model.meanSimilarity, 3))")
            let scorers = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: false) }
            let ss = Shared(scorers)
            let dec = Shared(decision)
            // The workers call BLAS at the same time: one BLAS thread each.
            let blasThreads = SphericalKMeans.blasThreads
            SphericalKMeans.setBLASThreads(1)
            defer { SphericalKMeans.setBLASThreads(blasThreads) }
            let stream = CorpusStream(inputs: files, read: o.read)
            let pool = OrderedPool<[(Int32, Float)]>(input: stream.queue, workers: o.workers) { w, b in
                ss.value[w].prototypeScores(b, model) { dec.value[Int($0)] == 0 }
            }
            defer { stream.stop(); pool.finish() }
            var progress = ProgressLine(label: "prune: scoring:", total: stream.totalBytes, enabled: o.progress)
            while let (b, out) = pool.next() {
                if let e = b.error { throw e }
                for (d, sc) in out ?? [] {
                    let doc = Int(b.firstDoc) + Int(d)
                    scores[doc] = sc
                    try manifest?.setScore(doc: Int64(doc), score: sc.isNaN ? nil : Double(sc))
                }
                try checkInterrupt()
                stream.show(on: &progress)
            }
            progress.finish()
        }
        report.scoreSeconds = now() - t
    }

    // ---- The --keep selection, on the documents every other step kept.
    if let mode = o.keep {
        report.keepCutoff = try selectKept(mode, o: o, decision: &decision, scores: scores, docTokens: docTokens,
                                           summary: &decider.summaries[keepAt!]) { doc, reason, detail in
            try manifest?.drop(doc: Int64(doc), step: "keep", reason: reason, detail: detail)
        }
    }
    report.steps = decider.summaries

    // Vocabulary of the input, merged over the workers.
    let workerVocabs = workers.map(\.vocab)
    let beforeVocab = merge(workerVocabs)
    (report.before.types, report.before.hapax) = typesAndHapax(beforeVocab)
    let coverageRows = try coverageQuestions(o, ctx)
    var coverage = CoverageSummary()
    if let rows = coverageRows { addCoverage(rows, beforeVocab, stage: 0, into: &coverage) }

    let afterVocab: Vocabulary
    let droppedTokens = report.steps.reduce(Int64(0)) { $0 + $1.tokensDropped }
    if singlePass {
        // The dropped documents' token counts, by worker-local id, come off the merged counts.
        for (w, v) in workerVocabs.enumerated() {
            for (id, c) in dropCounts[w].enumerated() where c > 0 {
                let m = beforeVocab === v ? UInt32(id) : beforeVocab.intern(v.token(UInt32(id)))
                beforeVocab.addCounted(m, count: 0 &- UInt64(c), df: 0)
            }
        }
        afterVocab = beforeVocab
        report.after.tokens = report.before.tokens - droppedTokens
    } else {
        // ---- Pass 2: write the kept records (or, with --dry-run, measure them). The kept
        // corpus's vocabulary is counted over the smaller side: the kept documents, or the
        // dropped ones subtracted from the input's counts.
        let t2 = now()
        let countDropped = droppedTokens < report.before.tokens - droppedTokens
        let counters = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: false) }
        let cs = Shared(counters)
        let emitter = RecordEmitter(sink: try makeSink(), outKind: outKind, formats: formats)
        do {
            defer { emitter.sink?.abandon() }
            let stream = CorpusStream(inputs: files, read: o.read, records: true)
            let dec = Shared(decision)
            let pool = OrderedPool<Void>(input: stream.queue, workers: o.workers) { w, b in
                cs.value[w].count(b) { (dec.value[Int($0)] == 0) != countDropped }
            }
            defer { stream.stop(); pool.finish() }
            var progress = ProgressLine(label: o.dryRun ? "prune: measuring:" : "prune: writing:", total: stream.totalBytes, enabled: o.progress)
            while let (b, _) = pool.next() {
                if let e = b.error { throw e }
                for d in 0..<b.count where decision[Int(b.firstDoc) + d] == 0 { try emitter.emit(b, d) }
                try checkInterrupt()
                stream.show(on: &progress)
            }
            try emitter.finish()
            progress.finish()
        }
        report.after.docs = emitter.docs
        report.after.bytes = emitter.bytes
        report.outputBytes = emitter.sink?.bytesOut ?? 0
        report.writeSeconds = now() - t2
        let counted = merge(counters.map(\.vocab))
        if countDropped {
            for id in 0..<UInt32(counted.count) {
                let m = beforeVocab.intern(counted.token(id))
                beforeVocab.addCounted(m, count: 0 &- counted.count(of: id), df: 0 &- counted.df(of: id))
            }
            afterVocab = beforeVocab
            report.after.tokens = report.before.tokens - droppedTokens
        } else {
            afterVocab = counted
            report.after.tokens = counters.reduce(0) { $0 + $1.tokensSeen }
        }
    }
    (report.after.types, report.after.hapax) = typesAndHapax(afterVocab)
    if let rows = coverageRows {
        addCoverage(rows, afterVocab, stage: 1, into: &coverage)
        report.coverage = coverage
    }

    report.seconds = now() - t0
    report.peakRSS = peakRSS()
    if let m = manifest {
        try writeManifestHeader(m, report, o, ctx)
        try writeManifestSummary(m, report)
        try m.commit()
    }
    return report
}

/// `--eval` files: each question's content terms (their first spellings), for the coverage
/// before and after.
func coverageQuestions(_ o: PruneOptions, _ ctx: PruneContext) throws -> [[String]]? {
    guard !o.coverageEvals.isEmpty else { return nil }
    var fields = o.evalFields
    fields.needCorrect = false
    fields.correctIfPresent = false
    let (rows, _) = try readEvalFiles(o.coverageEvals, fields: fields, onError: o.read.onError)
    let ex = TermExtractor(specs: [.content], tokenizer: Tokenizer(config: ctx.tokenizerConfig), stopwords: o.stopwords)
    return rows.map { ex.terms(of: $0).compactMap { $0.aliases.first?.first } }
}

struct Hash128: Hashable {
    let a: UInt64
    let b: UInt64
    func hash(into h: inout Hasher) { h.combine(a) }
}

func formatName(_ f: DocumentFormat, _ c: Container) -> String {
    let base: String
    switch f {
    case .jsonl(let field): base = "jsonl(\(field))"
    case .text(let s): base = "text(\(s.rawValue))"
    }
    return c == .plain ? base : "\(base), \(c.rawValue)"
}

func parameters(of s: PruneStep, _ o: PruneOptions, _ ctx: PruneContext) -> String {
    switch s {
    case .dedup:
        return "exact: 128-bit hash of the normalized token sequence (\(TokenizerConfig.name), case fold \(ctx.tokenizerConfig.caseFold ? "on" : "off")); first occurrence kept"
    case .decontaminate:
        return "\(o.contaminationN)-gram overlap with \(o.decontaminate.joined(separator: ", ")) (\(ctx.contamSource.count) n-grams from \(ctx.contamRows) rows; \(ctx.contamUntestable) rows shorter than \(o.contaminationN) tokens)"
    case .nearDup:
        let p = ctx.minhash!
        return "MinHash: threshold \(p.threshold), \(p.shingle)-token shingles, \(p.perms) permutations = \(p.bands) bands x \(p.rows) rows, seed \(p.seed)"
    case .balance:
        let entries = o.entriesFile.map { "entries from \($0) (\(ctx.entryText.count))" } ?? "entries = the index's unigrams (\(ctx.indexCount.count)), c = document frequency"
        return "MetaCLIP: T = \(fmtCount(o.balance!)), \(entries), keep entry with p = min(1, T/c), seed \(o.seed)"
    case .keep:
        if o.keep!.usesPrototypes { return prototypeParameters(o, nil, sampled: 0) }
        return "\(o.keep!.rawValue): score = mean log10(1+count) of the \(o.rarestK) rarest content terms; \(keepTarget(o))"
    }
}

private func keepTarget(_ o: PruneOptions) -> String {
    o.targetFraction.map { "target fraction \($0) of the input documents" } ?? "target \(o.targetTokens!) tokens"
}

func prototypeParameters(_ o: PruneOptions, _ m: SphericalKMeans?, sampled: Int) -> String {
    let fit = m.map { "\($0.k) spherical k-means prototypes fitted on \(sampled) sampled documents (\($0.iterations) iterations\($0.converged ? " until at most 0.1% changed cluster" : ", stopped before 0.1% changed cluster"), seed \(o.seed))" }
        ?? "no prototypes (no document with content terms reached this step)"
    return "\(o.keep!.rawValue): score = cosine distance of the document's hashed TF-IDF vector (\(Prototypes.dims) dims, content terms, idf = ln((1+N)/(1+df))+1 from the index) to the nearest of \(fit); \(o.keep!.keepsLargest ? "largest" : "smallest") kept first; \(keepTarget(o))"
}

private func fmtCount(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? "\(Int64(x))" : "\(x)" }

func fmt(_ x: Double, _ digits: Int) -> String {
    if !x.isFinite { return "\(x)" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (x * p).rounded() / p
    var s = "\(r)"
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
}

func merge(_ vocabs: [Vocabulary]) -> Vocabulary {
    guard vocabs.count > 1 else { return vocabs.first ?? Vocabulary() }
    let largest = vocabs.indices.max { vocabs[$0].count < vocabs[$1].count }!
    let into = vocabs[largest]
    for (i, v) in vocabs.enumerated() where i != largest {
        for id in 0..<UInt32(v.count) {
            let m = into.intern(v.token(id))
            into.addCounted(m, count: v.count(of: id), df: v.df(of: id))
        }
    }
    return into
}

func typesAndHapax(_ v: Vocabulary) -> (Int64, Int64) {
    var types: Int64 = 0, hapax: Int64 = 0
    for id in 0..<UInt32(v.count) {
        let c = v.count(of: id)
        if c > 0 { types += 1 }
        if c == 1 { hapax += 1 }
    }
    return (types, hapax)
}

func addCoverage(_ rows: [[String]], _ v: Vocabulary, stage: Int, into c: inout CoverageSummary) {
    func count(_ t: String) -> UInt64 {
        var b = Array(t.utf8)
        return b.withUnsafeMutableBytes { v.lookup(UnsafeRawBufferPointer($0)) }.map { v.count(of: $0) } ?? 0
    }
    var terms = Set<String>()
    c.questions = 0
    for r in rows where !r.isEmpty {
        c.questions += 1
        terms.formUnion(r)
        let m = r.map(count).min()!
        if m == 0 { c.rarestZero[stage] += 1 }
        if m < 10 { c.rarestUnder10[stage] += 1 }
        if m < 100 { c.rarestUnder100[stage] += 1 }
    }
    c.terms = terms.count
    c.unseenTerms[stage] = terms.filter { count($0) == 0 }.count
}

/// JSON string escaping of raw text bytes: quote, backslash and control characters escaped,
/// other bytes as they are.
func appendJSONTextRecord(_ text: UnsafeRawBufferPointer, to out: inout [UInt8]) {
    out.append(contentsOf: Array(#"{"text":""#.utf8))
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    for c in text {
        switch c {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(0x6E)
        case 0x0D: out.append(0x5C); out.append(0x72)
        case 0x09: out.append(0x5C); out.append(0x74)
        case 0..<0x20:
            out.append(contentsOf: Array(#"\u00"#.utf8)); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
        default: out.append(c)
        }
    }
    out.append(contentsOf: Array("\"}\n".utf8))
}

/// The run's settings and its steps, as the manifest records them.
func writeManifestHeader(_ m: ManifestWriter, _ r: PruneReport, _ o: PruneOptions, _ ctx: PruneContext, complete: Bool = true) throws {
    let meta: [(String, String)] = [
        ("tool", "tailscope \(tailscopeVersion)"), ("created_at", isoNow()),
        ("inputs", r.inputs.joined(separator: "\n")), ("output", r.output ?? ""), ("dry_run", o.dryRun ? "1" : "0"),
        ("seed", "\(o.seed)"), ("tokenizer", TokenizerConfig.name), ("case_fold", ctx.tokenizerConfig.caseFold ? "1" : "0"),
        ("index", o.index ?? ""), ("steps", r.steps.map(\.step.rawValue).joined(separator: ",")),
        ("minhash_perms", r.minhash.map { "\($0.perms)" } ?? ""), ("minhash_bands", r.minhash.map { "\($0.bands)" } ?? ""),
        ("minhash_rows", r.minhash.map { "\($0.rows)" } ?? ""), ("minhash_shingle", r.minhash.map { "\($0.shingle)" } ?? ""),
        ("balance_expected", r.balanceExpected.map { "\($0.mean) \($0.sd)" } ?? ""),
        ("keep_cutoff", r.keepCutoff.map { "\($0)" } ?? ""),
        ("complete", complete ? "1" : "0"),
    ]
    for (k, v) in meta { try m.setMeta(k, v) }
    for (i, s) in r.steps.enumerated() {
        try m.addStep(position: i + 1, step: s.step.rawValue, parameters: s.parameters, docsIn: s.docsIn, docsDropped: s.dropped,
                      tokensIn: s.tokensIn, tokensDropped: s.tokensDropped)
    }
}

/// The corpus before and after.
func writeManifestSummary(_ m: ManifestWriter, _ r: PruneReport) throws {
    for (stage, s) in [("before", r.before), ("after", r.after)] {
        try m.addSummary(stage: stage, docs: s.docs, tokens: s.tokens, types: s.types, hapax: s.hapax, bytes: s.bytes)
    }
}
