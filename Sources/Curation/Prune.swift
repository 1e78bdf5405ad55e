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
}

private enum OutKind { case jsonl, text }

/// Writes kept records in the output's format: JSONL lines as they were, text documents as
/// lines or blank-line separated paragraphs, or text documents as {"text": ...} lines.
private final class RecordEmitter {
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

    func emit(_ b: RecordBatch, _ d: Int) throws {
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

private final class Shared<T>: @unchecked Sendable {
    var value: T
    init(_ v: T) { value = v }
}

/// Runs the steps over the corpus: one pass decides (dedup, decontaminate, near-dup, balance, and
/// the scores for --keep), the --keep selection runs on those scores, and a second pass writes
/// the kept records in input order (and counts the kept corpus's vocabulary).
public func prune(_ o: PruneOptions, log: @escaping (String) -> Void) throws -> PruneReport {
    let t0 = now()
    guard o.anyStep else {
        throw PruneUsageError("choose at least one step: --dedup exact, --near-dup T, --decontaminate FILE, --balance T, --keep MODE")
    }
    guard o.dryRun || o.output != nil else { throw PruneUsageError("give -o FILE for the curated corpus, or --dry-run") }
    if o.keep != nil && (o.targetFraction == nil) == (o.targetTokens == nil) {
        throw PruneUsageError("--keep needs exactly one of --target-fraction F or --target-tokens N")
    }
    let files = try expandInputs(o.inputs, log: log)
    // No output may be an input or another output (compared by resolved path and inode), and
    // the manifest, a SQLite file, must be a regular file. Checked before anything is read.
    var inputPaths = files.map { NamedPath("", $0) }
    inputPaths += (o.decontaminate.map { NamedPath("--decontaminate", $0) } + o.coverageEvals.map { NamedPath("--eval", $0) })
    if let i = o.index { inputPaths.append(NamedPath("--index", i)) }
    if let e = o.entriesFile { inputPaths.append(NamedPath("--entries", e)) }
    var outputPaths: [NamedPath] = []
    if !o.dryRun, let out = o.output { outputPaths.append(NamedPath("-o", out)) }
    if let m = o.manifest { outputPaths.append(NamedPath("--manifest", m)) }
    let destinations = try checkOutputs(inputs: inputPaths, outputs: outputPaths)
    cleanLeftovers(outputs: outputPaths.map(\.path), tempDir: nil, log: log)
    if o.manifest != nil, case .atomic = destinations.last! {} else if o.manifest != nil {
        throw UsageError("--manifest \(o.manifest!) is not a regular file; the manifest is a SQLite file and needs a file name")
    }
    // The output format: from -o's name; JSONL for standard output, a device or a FIFO (`-o -`,
    // `-o /dev/null`); else the input's. JSONL records cannot become plain text.
    let toStream: Bool
    if !o.dryRun, o.output != nil, case .atomic = destinations[0] { toStream = false } else { toStream = !o.dryRun && o.output != nil }
    let outKind: OutKind = o.output.map { toStream || isJSONLName($0) ? .jsonl : .text }
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
    let enabled: [PruneStep] = PruneStep.allCases.filter {
        switch $0 {
        case .dedup: return o.dedupExact
        case .decontaminate: return !o.decontaminate.isEmpty
        case .nearDup: return o.nearDup != nil
        case .balance: return o.balance != nil
        case .keep: return o.keep != nil
        }
    }
    var steps: [PruneStep: StepSummary] = [:]
    for s in enabled { steps[s] = StepSummary(step: s, parameters: parameters(of: s, o, ctx)) }
    let decision = Shared<[UInt8]>([])
    var docTokens: [Int32] = []
    var scores: [Float] = []
    var firstOf: [Hash128: Int64] = [:]
    let lsh = ctx.minhash.map { LSHIndex($0) }
    var balanceMean = 0.0, balanceVar = 0.0
    let totalBytes = files.reduce(Int64(0)) { $0 + (fileSize($1) ?? 0) }
    let usesPrototypes = o.keep?.usesPrototypes ?? false
    var sample = PrototypeSample(capacity: Prototypes.sample, dims: Prototypes.dims)

    // Without --keep every decision is final when it is made: one pass decides and writes, and
    // the kept corpus's counts are the input's minus those of the dropped documents. With
    // --keep, a second pass writes after the selection.
    let singlePass = o.keep == nil
    let workers = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: singlePass) }
    let ws = Shared(workers)
    var dropCounts = [[UInt32]](repeating: [], count: o.workers)
    let formats = files.map { o.read.format(of: $0) }
    let makeSink = { () throws -> AtomicSink? in
        try o.dryRun ? nil : AtomicSink(path: o.output!, compression: OutputCompression.forName(o.output!),
                                        level: o.zstdLevel, threads: o.workers)
    }
    let emitter1 = singlePass ? RecordEmitter(sink: try makeSink(), outKind: outKind, formats: formats) : nil
    defer { emitter1?.sink?.abandon() }
    let t1 = now()
    do {
        let producer = RecordProducer(files: files, options: o.read, keepRaw: singlePass)
        let pool = OrderedPool<BatchFeatures>(input: producer.queue, workers: o.workers) { w, b in
            let f = ws.value[w].analyze(b)
            f.worker = w
            return f
        }
        defer { producer.stop(); pool.finish() }
        var progress = ProgressLine(label: "prune: deciding:", total: totalBytes, enabled: o.progress)
        var doneBytes: Int64 = 0
        while let (b, features) = pool.next() {
            if let e = b.error { throw e }
            let f = features!
            var protoAt = 0
            for d in 0..<b.count {
                let doc = b.firstDoc + Int64(d)
                let tokens = Int64(f.tokens[d])
                var drop: PruneStep? = nil
                var reason: String? = nil, detail: String? = nil
                var matchDoc: Int64? = nil, similarity: Double? = nil
                func pass(_ s: PruneStep) { steps[s]!.docsIn += 1; steps[s]!.tokensIn += tokens }
                if o.dedupExact {
                    pass(.dedup)
                    let h = Hash128(a: f.hashA[d], b: f.hashB[d])
                    if let first = firstOf[h] {
                        drop = .dedup; reason = "exact-duplicate"; matchDoc = first
                        detail = "same normalized text as document \(first)"
                    } else {
                        firstOf[h] = doc
                    }
                }
                if drop == nil && !o.decontaminate.isEmpty {
                    pass(.decontaminate)
                    let p = f.contam[d]
                    if p >= 0 {
                        let src = ctx.contamSource[Int(p)]
                        drop = .decontaminate; reason = "eval-ngram"
                        detail = "shares the \(o.contaminationN)-gram \"\(src.text)\" with \(src.file):\(src.line)"
                    }
                }
                if drop == nil, let lsh {
                    pass(.nearDup)
                    if f.hasSignature[d] {
                        let perms = lsh.p.perms
                        f.signatures.withUnsafeBufferPointer { s in
                            let sig = s.baseAddress! + d * perms
                            if let m = lsh.query(sig) {
                                drop = .nearDup; reason = "near-duplicate"; matchDoc = m.doc; similarity = m.similarity
                                detail = "estimated Jaccard \(fmt(m.similarity, 3)) with document \(m.doc) (\(o.shingle)-token shingles)"
                            } else {
                                lsh.add(sig, doc: doc)
                            }
                        }
                    }
                }
                if drop == nil, o.balance != nil {
                    pass(.balance)
                    let p = f.balanceP[d]
                    balanceMean += p
                    balanceVar += p * (1 - p)
                    if !f.balanceKept[d] {
                        drop = .balance
                        let e = f.balanceEntry[d]
                        if e < 0 {
                            reason = "no-entry"; detail = "holds no balancing entry"
                        } else {
                            let c = ctx.entryC(e)
                            reason = "not-sampled"
                            detail = "no entry sampled; rarest entry \"\(ctx.entryName(e))\" (c=\(c), p=\(fmt(min(1, o.balance! / Double(max(c, 1))), 4))); P(keep)=\(fmt(p, 4))"
                        }
                    }
                }
                if drop == nil, o.keep != nil { pass(.keep) }
                if usesPrototypes {
                    while protoAt < f.protoDocs.count && Int(f.protoDocs[protoAt]) < d { protoAt += 1 }
                    if drop == nil, protoAt < f.protoDocs.count, Int(f.protoDocs[protoAt]) == d {
                        f.protoVectors.withUnsafeBufferPointer { v in
                            sample.offer(doc: doc, priority: f.protoPriority[protoAt], vector: v.baseAddress! + protoAt * Prototypes.dims)
                        }
                        if sample.isFull { ctx.sampleThreshold.store(sample.threshold.bitPattern, ordering: .relaxed) }
                    }
                }
                if let s = drop {
                    steps[s]!.dropped += 1
                    steps[s]!.tokensDropped += tokens
                    steps[s]!.reasons[reason!, default: (0, 0)].docs += 1
                    steps[s]!.reasons[reason!, default: (0, 0)].tokens += tokens
                }
                decision.value.append(drop?.code ?? 0)
                docTokens.append(f.tokens[d])
                let score: Double? = o.keep == nil || usesPrototypes ? nil : f.score[d]
                if o.keep != nil { scores.append(Float(score ?? .nan)) }
                try manifest?.addDocument(doc: doc, source: b.fileIndex, line: b.lines[d], offset: b.offsets[d], tokens: Int(tokens),
                                          step: drop?.rawValue, reason: reason, detail: detail,
                                          score: score, matchDoc: matchDoc, similarity: similarity)
                report.before.docs += 1
                report.before.tokens += tokens
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
            }
            if let (counters, container) = b.endOfFile {
                report.before.bytes += counters.bytesDecompressed
                var skipped: Int64 = 0
                for (k, v) in counters.skipped { report.skipped[k.rawValue, default: 0] += v; skipped += v }
                try manifest?.addSource(b.fileIndex, path: files[b.fileIndex], format: formatName(o.read.format(of: files[b.fileIndex]), container),
                                        docs: counters.docs, bytesDecompressed: counters.bytesDecompressed,
                                        skipped: skipped, incomplete: counters.incomplete)
                doneBytes += fileSize(files[b.fileIndex]) ?? 0
            }
            try checkInterrupt()
            progress.update(done: doneBytes + (b.endOfFile == nil ? b.fileOffset : 0), docs: report.before.docs)
        }
        progress.finish()
    }
    if let em = emitter1 {
        try em.finish()
        report.after.docs = em.docs
        report.after.bytes = em.bytes
        report.outputBytes = em.sink?.bytesOut ?? 0
    }
    report.analyzeSeconds = now() - t1
    if o.balance != nil { report.balanceExpected = (balanceMean, balanceVar.squareRoot()) }

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
            steps[.keep]!.parameters = prototypeParameters(o, model, sampled: sample.count)
            for c in 0..<model.k {
                try manifest?.addPrototype(cluster: c, size: model.sizes[c],
                                           centroid: Array(model.centroids[(c * model.dims)..<((c + 1) * model.dims)]))
            }
            log("keep \(o.keep!.rawValue): k-means with \(model.k) clusters on \(sample.count) sampled documents, \(model.iterations) iteration(s)\(model.converged ? "" : " (not converged)"), mean cosine similarity \(fmt(model.meanSimilarity, 3))")
            let scorers = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: false) }
            let ss = Shared(scorers)
            let dec = decision
            // The workers call BLAS at the same time: one BLAS thread each.
            let blasThreads = SphericalKMeans.blasThreads
            SphericalKMeans.setBLASThreads(1)
            defer { SphericalKMeans.setBLASThreads(blasThreads) }
            let producer = RecordProducer(files: files, options: o.read, keepRaw: false)
            let pool = OrderedPool<[(Int32, Float)]>(input: producer.queue, workers: o.workers) { w, b in
                ss.value[w].prototypeScores(b, model) { dec.value[Int($0)] == 0 }
            }
            defer { producer.stop(); pool.finish() }
            var progress = ProgressLine(label: "prune: scoring:", total: totalBytes, enabled: o.progress)
            var doneBytes: Int64 = 0
            while let (b, out) = pool.next() {
                if let e = b.error { throw e }
                for (d, sc) in out ?? [] {
                    let doc = Int(b.firstDoc) + Int(d)
                    scores[doc] = sc
                    try manifest?.setScore(doc: Int64(doc), score: sc.isNaN ? nil : Double(sc))
                }
                if b.endOfFile != nil { doneBytes += fileSize(files[b.fileIndex]) ?? 0 }
                try checkInterrupt()
                progress.update(done: doneBytes + (b.endOfFile == nil ? b.fileOffset : 0), docs: Int64(b.firstDoc) + Int64(b.count))
            }
            progress.finish()
        }
        report.scoreSeconds = now() - t
    }

    // ---- The --keep selection, on the documents every other step kept.
    if let mode = o.keep {
        var cand: [Int32] = []
        for (i, d) in decision.value.enumerated() where d == 0 { cand.append(Int32(i)) }
        cand.sort { x, y in
            let a = scores[Int(x)], b = scores[Int(y)]
            if a.isNaN != b.isNaN { return !a.isNaN }
            if !a.isNaN && a != b { return mode.keepsLargest ? a > b : a < b }
            return x < y
        }
        var take = 0
        if let f = o.targetFraction {
            take = min(cand.count, Int((f * Double(report.before.docs)).rounded(.down)))
        } else if let n = o.targetTokens {
            var sum: Int64 = 0
            while take < cand.count, sum + Int64(docTokens[Int(cand[take])]) <= n {
                sum += Int64(docTokens[Int(cand[take])]); take += 1
            }
        }
        let cutoff = take > 0 ? Double(scores[Int(cand[take - 1])]) : nil
        report.keepCutoff = cutoff
        for i in take..<cand.count {
            let doc = Int(cand[i])
            decision.value[doc] = PruneStep.keep.code
            let tokens = Int64(docTokens[doc])
            steps[.keep]!.dropped += 1
            steps[.keep]!.tokensDropped += tokens
            let s = Double(scores[doc])
            let reason = s.isNaN ? "no-content-terms" : "below-target"
            steps[.keep]!.reasons[reason, default: (0, 0)].docs += 1
            steps[.keep]!.reasons[reason, default: (0, 0)].tokens += tokens
            try manifest?.drop(doc: Int64(doc), step: "keep", reason: reason,
                               detail: s.isNaN ? "no content term to score" :
                                   "\(mode.rawValue) score \(fmt(s, 4)) is past the cutoff \(cutoff.map { fmt($0, 4) } ?? "-") of the \(take) documents kept"
                                   + (mode.usesPrototypes ? " (cosine distance to the nearest prototype)" : ""))
        }
    }
    report.steps = enabled.map { steps[$0]! }

    // Vocabulary of the input, merged over the workers.
    let workerVocabs = workers.map(\.vocab)
    let beforeVocab = merge(workerVocabs)
    (report.before.types, report.before.hapax) = typesAndHapax(beforeVocab)
    var coverageRows: [[String]]? = nil
    if !o.coverageEvals.isEmpty {
        var fields = o.evalFields
        fields.needCorrect = false
        fields.correctIfPresent = false
        let (rows, _) = try readEvalFiles(o.coverageEvals, fields: fields, onError: o.read.onError)
        let ex = TermExtractor(specs: [.content], tokenizer: Tokenizer(config: ctx.tokenizerConfig), stopwords: o.stopwords)
        coverageRows = rows.map { ex.terms(of: $0).compactMap { $0.aliases.first?.first } }
    }
    var coverage = CoverageSummary()
    if let rows = coverageRows { addCoverage(rows, beforeVocab, stage: 0, into: &coverage) }
    ws.value = []

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
            let producer = RecordProducer(files: files, options: o.read, keepRaw: true)
            let dec = decision
            let pool = OrderedPool<Void>(input: producer.queue, workers: o.workers) { w, b in
                cs.value[w].count(b) { (dec.value[Int($0)] == 0) != countDropped }
            }
            defer { producer.stop(); pool.finish() }
            var progress = ProgressLine(label: o.dryRun ? "prune: measuring:" : "prune: writing:", total: totalBytes, enabled: o.progress)
            var doneBytes: Int64 = 0
            while let (b, _) = pool.next() {
                if let e = b.error { throw e }
                for d in 0..<b.count where decision.value[Int(b.firstDoc) + d] == 0 { try emitter.emit(b, d) }
                if b.endOfFile != nil { doneBytes += fileSize(files[b.fileIndex]) ?? 0 }
                try checkInterrupt()
                progress.update(done: doneBytes + (b.endOfFile == nil ? b.fileOffset : 0), docs: emitter.docs)
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
        try writeManifestSummary(m, report, o, ctx)
        try m.commit()
    }
    return report
}

struct Hash128: Hashable {
    let a: UInt64
    let b: UInt64
    func hash(into h: inout Hasher) { h.combine(a) }
}

private func formatName(_ f: DocumentFormat, _ c: Container) -> String {
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

private func prototypeParameters(_ o: PruneOptions, _ m: SphericalKMeans?, sampled: Int) -> String {
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

private func merge(_ vocabs: [Vocabulary]) -> Vocabulary {
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

private func typesAndHapax(_ v: Vocabulary) -> (Int64, Int64) {
    var types: Int64 = 0, hapax: Int64 = 0
    for id in 0..<UInt32(v.count) {
        let c = v.count(of: id)
        if c > 0 { types += 1 }
        if c == 1 { hapax += 1 }
    }
    return (types, hapax)
}

private func addCoverage(_ rows: [[String]], _ v: Vocabulary, stage: Int, into c: inout CoverageSummary) {
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

private func writeManifestSummary(_ m: ManifestWriter, _ r: PruneReport, _ o: PruneOptions, _ ctx: PruneContext) throws {
    let meta: [(String, String)] = [
        ("tool", "tailscope \(tailscopeVersion)"), ("created_at", isoNow()),
        ("inputs", r.inputs.joined(separator: "\n")), ("output", r.output ?? ""), ("dry_run", o.dryRun ? "1" : "0"),
        ("seed", "\(o.seed)"), ("tokenizer", TokenizerConfig.name), ("case_fold", ctx.tokenizerConfig.caseFold ? "1" : "0"),
        ("index", o.index ?? ""), ("steps", r.steps.map(\.step.rawValue).joined(separator: ",")),
        ("minhash_perms", r.minhash.map { "\($0.perms)" } ?? ""), ("minhash_bands", r.minhash.map { "\($0.bands)" } ?? ""),
        ("minhash_rows", r.minhash.map { "\($0.rows)" } ?? ""), ("minhash_shingle", r.minhash.map { "\($0.shingle)" } ?? ""),
        ("complete", "1"),
    ]
    for (k, v) in meta { try m.setMeta(k, v) }
    for (i, s) in r.steps.enumerated() {
        try m.addStep(position: i + 1, step: s.step.rawValue, parameters: s.parameters, docsIn: s.docsIn, docsDropped: s.dropped,
                      tokensIn: s.tokensIn, tokensDropped: s.tokensDropped)
    }
    for (stage, s) in [("before", r.before), ("after", r.after)] {
        try m.addSummary(stage: stage, docs: s.docs, tokens: s.tokens, types: s.types, hapax: s.hapax, bytes: s.bytes)
    }
}

