import CorpusIO
import Counting
import Evaluation
import IndexStore
import Tokenization

#if canImport(Glibc)
import Glibc
#endif

/// `prune` in phases, for corpora split over many processes or machines. Every phase gets the
/// same step flags and inputs; the work directory holds what passes between them.
///
/// 1. `plan` (each shard K of N): reads its slice and stores every document's features
///    (`plan-K-of-N.sqlite`: hashes, eval n-gram hits, MinHash signatures, balancing draws, scores).
/// 2. `resolve` (once): reads the plans in global document order and makes every decision with
///    the same code as one process (`resolved.sqlite`, one code per document per shard, and the
///    manifest's documents and steps in `manifest.sqlite`).
/// 3. `apply` (each shard): writes its kept documents to its own output and counts its
///    vocabulary before and after (`apply-K-of-N.sqlite`).
/// 4. `finish` (once): sums the vocabularies and completes the manifest and the summary.
///
/// A phase whose file exists is complete (files are renamed into place); a rerun with the same
/// settings and inputs skips it. Files of other settings are refused.
public enum PrunePhase: Sendable, Equatable {
    case plan(dir: String, shard: ShardSpec)
    case resolve(dir: String)
    case apply(dir: String, shard: ShardSpec)
    case finish(dir: String)

    var dir: String {
        switch self {
        case .plan(let d, _), .resolve(let d), .apply(let d, _), .finish(let d): return d
        }
    }

    public var name: String {
        switch self {
        case .plan: return "plan"
        case .resolve: return "resolve"
        case .apply: return "apply"
        case .finish: return "finish"
        }
    }
}

func planPath(_ dir: String, _ k: Int, _ n: Int) -> String { "\(dir)/plan-\(k)-of-\(n).sqlite" }
func applyPath(_ dir: String, _ k: Int, _ n: Int) -> String { "\(dir)/apply-\(k)-of-\(n).sqlite" }
func resolutionPath(_ dir: String) -> String { "\(dir)/resolved.sqlite" }
func phaseManifestPath(_ dir: String) -> String { "\(dir)/manifest.sqlite" }

/// What the phases of one run must agree on: the inputs (paths and sizes), how they are read and
/// sharded, and every setting that changes a decision.
func phaseFingerprint(_ o: PruneOptions, files: [String], shards: Int, by: ShardSpec.By) -> String {
    var parts: [String] = []
    parts.append("files " + files.map { "\($0) \(fileSize($0) ?? -1)" }.joined(separator: "\n"))
    parts.append("shards \(shards) by \(by.rawValue)")
    parts.append("read \(o.read.textField) \(String(describing: o.read.jsonl)) \(o.read.docPer.rawValue) \(o.read.onError.rawValue) \(o.read.maxLineBytes)")
    parts.append("dedup \(o.dedupExact) near-dup \(String(describing: o.nearDup)) shingle \(o.shingle) perms \(o.perms)")
    parts.append("decontaminate \(o.decontaminate.joined(separator: "\n")) n \(o.contaminationN) fields \(String(describing: o.evalFields))")
    parts.append("balance \(String(describing: o.balance)) entries \(o.entriesFile ?? "")")
    parts.append("keep \(o.keep?.rawValue ?? "") fraction \(String(describing: o.targetFraction)) tokens \(String(describing: o.targetTokens)) rarest \(o.rarestK)")
    parts.append("seed \(o.seed) index \(o.index ?? "") \(o.index.flatMap { fileSize($0) } ?? -1)")
    parts.append("stopwords " + o.stopwords.sorted().joined(separator: " "))
    let text = Array(parts.joined(separator: "\n").utf8)
    let h = text.withUnsafeBytes { b in (hashBytes64(b, seed: 0x7072_756E_6531), hashBytes64(b, seed: 0x7072_756E_6532)) }
    return hex64(h.0) + hex64(h.1)
}

private func hex64(_ x: UInt64) -> String {
    let s = String(x, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// Runs one phase of a sharded prune.
public func prunePhase(_ phase: PrunePhase, _ o: PruneOptions, log: @escaping (String) -> Void) throws -> PruneReport {
    try checkSteps(o)
    if o.keep?.usesPrototypes == true {
        throw PruneUsageError("--keep \(o.keep!.rawValue) fits k-means on a sample of the documents the other steps keep, between two passes over the corpus; it runs in one process only (use --keep tail|head in phases)")
    }
    if o.dryRun { throw PruneUsageError("--dry-run is for one process; the phases write their files in \(phase.dir)") }
    let files = try expandInputs(o.inputs, log: log)
    guard !files.isEmpty else { throw PruneUsageError("no input files") }
    switch phase {
    case .plan(let dir, let shard): return try prunePlan(o, files: files, dir: dir, shard: shard, log: log)
    case .resolve(let dir): return try pruneResolve(o, files: files, dir: dir, log: log)
    case .apply(let dir, let shard): return try pruneApply(o, files: files, dir: dir, shard: shard, log: log)
    case .finish(let dir): return try pruneFinish(o, files: files, dir: dir, log: log)
    }
}

private func makeDirectory(_ dir: String) throws {
    if mkdir(dir, 0o755) != 0 && errno != EEXIST {
        throw UsageError("cannot create the work directory \(dir): \(String(cString: strerror(errno)))")
    }
}

/// A complete stage file of this run, or nil; a file of other settings is an error.
private func completeStage(_ path: String, fingerprint: String, what: String) throws -> StageReader? {
    guard fileExists(path) else { return nil }
    let r = try StageReader(path: path)
    guard r.meta["complete"] == "1" else { return nil }
    guard r.fingerprint == fingerprint else {
        throw StoreError("\(path) is the \(what) of a run with other settings or inputs; use another work directory or remove it", status: .dataError)
    }
    return r
}

// MARK: - plan

private func prunePlan(_ o: PruneOptions, files: [String], dir: String, shard: ShardSpec, log: @escaping (String) -> Void) throws -> PruneReport {
    let t0 = now()
    try makeDirectory(dir)
    let fingerprint = phaseFingerprint(o, files: files, shards: shard.count, by: shard.by)
    let path = planPath(dir, shard.index, shard.count)
    _ = try checkOutputs(inputs: pruneInputPaths(o, files), outputs: [NamedPath("--plan", path)])
    var report = PruneReport()
    report.phase = "plan"; report.shard = shard; report.stageFile = path; report.inputs = files
    if let done = try completeStage(path, fingerprint: fingerprint, what: "plan") {
        log("\(path): shard \(shard.index)/\(shard.count) is already planned for these settings and inputs; skipped")
        report.before.docs = Int64(done.meta["docs"] ?? "") ?? 0
        report.before.tokens = Int64(done.meta["tokens"] ?? "") ?? 0
        report.alreadyComplete = true
        report.seconds = now() - t0
        return report
    }
    cleanLeftovers(outputs: [path], tempDir: nil, log: log)
    let ctx = try PruneContext(o, log: log)
    let writer = try StageWriter(path: path, kind: "tailscope prune plan", fingerprint: fingerprint, shard: shard.index, of: shard.count)
    defer { writer.abandon() }
    let stream = CorpusStream(inputs: files, read: o.read, shard: shard, positions: true)
    let sources = stream.sources
    let workers = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: false) }
    try analyzeStream(stream, workers: workers, label: "prune plan \(shard.index)/\(shard.count):", progress: o.progress, document: { b, _, d, x in
        var s = StageDocument(source: sources[b.fileIndex], position: b.positions[d], line: b.lines[d], offset: b.offsets[d],
                              tokens: Int32(clamping: x.tokens))
        s.hashA = x.hashA; s.hashB = x.hashB; s.contam = x.contam
        if let sig = x.signature { s.signature = Array(UnsafeBufferPointer(start: sig, count: ctx.minhash!.perms)) }
        s.balanceKept = x.balanceKept; s.balanceEntry = x.balanceEntry; s.balanceP = x.balanceP; s.score = x.score
        try writer.addDocument(s)
        report.before.docs += 1
        report.before.tokens += x.tokens
    }, fileEnd: { b, end in
        let c = end.counters
        var skipped: [String: Int64] = [:]
        for (k, v) in c.skipped { skipped[k.rawValue] = v; report.skipped[k.rawValue, default: 0] += v }
        try writer.addFile(StageFile(source: sources[b.fileIndex], path: stream.files[b.fileIndex],
                                     format: formatName(o.read.format(of: stream.files[b.fileIndex]), end.container),
                                     records: c.docs, docs: end.docs, bytesDecompressed: c.bytesDecompressed,
                                     skipped: skipped, incomplete: c.incomplete))
    })
    try writer.setMeta("docs", "\(report.before.docs)")
    try writer.setMeta("tokens", "\(report.before.tokens)")
    try writer.setMeta("by", shard.by.rawValue)
    try writer.commit()
    report.seconds = now() - t0
    report.peakRSS = peakRSS()
    return report
}

// MARK: - resolve

/// The plans in a work directory: every shard 1...N once, all of one run.
private func plans(_ dir: String) throws -> (count: Int, by: ShardSpec.By, readers: [StageReader]) {
    var found: [Int: [Int]] = [:]
    guard fileExists(dir) else { throw UsageError("no work directory \(dir)") }
    for name in directoryEntries(dir) where name.hasPrefix("plan-") && name.hasSuffix(".sqlite") {
        let parts = name.dropFirst(5).dropLast(7).split(separator: "-")
        guard parts.count == 3, parts[1] == "of", let k = Int(parts[0]), let n = Int(parts[2]) else { continue }
        found[n, default: []].append(k)
    }
    guard !found.isEmpty else { throw StoreError("\(dir) holds no plan: run prune --shard K/N --plan \(dir) for every shard first", status: .dataError) }
    guard found.count == 1, let (n, ks) = found.first else {
        throw StoreError("\(dir) holds plans of different shard counts (\(found.keys.sorted().map(String.init).joined(separator: ", "))); one run per work directory", status: .dataError)
    }
    let missing = Set(1...n).subtracting(ks)
    guard missing.isEmpty else {
        throw StoreError("\(dir): the plans of shard(s) \(missing.sorted().map(String.init).joined(separator: ", ")) of \(n) are missing or incomplete", status: .dataError)
    }
    let readers = try (1...n).map { try StageReader(path: planPath(dir, $0, n)) }
    let by = ShardSpec.By(rawValue: readers[0].meta["by"] ?? "") ?? .file
    return (n, by, readers)
}

private func pruneResolve(_ o: PruneOptions, files: [String], dir: String, log: @escaping (String) -> Void) throws -> PruneReport {
    let t0 = now()
    let (n, by, readers) = try plans(dir)
    let fingerprint = phaseFingerprint(o, files: files, shards: n, by: by)
    for r in readers where r.fingerprint != fingerprint || r.meta["complete"] != "1" {
        throw StoreError("\(r.path) was planned with other settings or inputs than this resolve was given; give every phase the same flags and files", status: .dataError)
    }
    let out = resolutionPath(dir)
    var report = PruneReport()
    report.phase = "resolve"; report.stageFile = out; report.inputs = files; report.manifest = phaseManifestPath(dir)
    if try completeStage(out, fingerprint: fingerprint, what: "resolution") != nil, fileExists(phaseManifestPath(dir)) {
        log("\(out): already resolved for these settings and inputs; skipped")
        report.alreadyComplete = true
        report.seconds = now() - t0
        return report
    }
    _ = try checkOutputs(inputs: pruneInputPaths(o, files), outputs: [NamedPath("--resolve", out), NamedPath("--resolve", phaseManifestPath(dir))])
    cleanLeftovers(outputs: [out, phaseManifestPath(dir)], tempDir: nil, log: log)

    // Each file as its shards saw it: by file one shard read it; by document every shard read
    // all of it and took its share, so any shard's counts describe the whole file.
    var fileInfo = [StageFile?](repeating: nil, count: files.count)
    for r in readers {
        for f in try r.files() {
            guard f.source < files.count, f.path == files[f.source] else {
                throw StoreError("\(r.path) planned \(f.path) as input \(f.source + 1), which is not this run's", status: .dataError)
            }
            if fileInfo[f.source] == nil { fileInfo[f.source] = f }
        }
    }
    var docsBefore = [Int64](repeating: 0, count: files.count + 1)
    for (i, f) in fileInfo.enumerated() {
        guard let f else { throw StoreError("no plan in \(dir) covers \(files[i])", status: .dataError) }
        docsBefore[i + 1] = docsBefore[i] + f.records
    }
    let ctx = try PruneContext(o, log: log)
    report.minhash = ctx.minhash
    let manifest = try ManifestWriter(path: phaseManifestPath(dir))
    defer { manifest.abandon() }
    for (i, f) in fileInfo.enumerated() {
        let f = f!
        report.before.bytes += f.bytesDecompressed
        for (k, v) in f.skipped { report.skipped[k, default: 0] += v }
        try manifest.addSource(i, path: f.path, format: f.format, docs: f.records, bytesDecompressed: f.bytesDecompressed,
                               skipped: f.skipped.values.reduce(0, +), incomplete: f.incomplete)
    }

    // Every document in global order: by file, the shard that read the file has all of it; by
    // document, position p of every file is in shard p mod N.
    let decider = Decider(o, ctx)
    let total = Int(docsBefore[files.count])
    var decision = [UInt8](); decision.reserveCapacity(total)
    var docTokens = [Int32](); docTokens.reserveCapacity(total)
    var scores: [Float] = []
    let cursors = try readers.map { try $0.documents() }
    func owner(_ source: Int, _ position: Int64) -> Int { by == .file || n == 1 ? source % n : Int(position % Int64(n)) }
    var line = ProgressLine(label: "prune resolve:", total: Int64(total), enabled: o.progress)
    for source in 0..<files.count {
        for p in 0..<fileInfo[source]!.records {
            let k = owner(source, p)
            guard let x = try cursors[k].next(), x.source == source, x.position == p else {
                throw StoreError("\(readers[k].path) lacks document \(p + 1) of \(files[source]); was the corpus changed after planning?", status: .dataError)
            }
            let doc = docsBefore[source] + p
            var f = DocFeatures(tokens: Int64(x.tokens))
            f.hashA = x.hashA; f.hashB = x.hashB; f.contam = x.contam
            f.balanceKept = x.balanceKept; f.balanceEntry = x.balanceEntry; f.balanceP = x.balanceP; f.score = x.score
            let drop = x.signature.withUnsafeBufferPointer { sig -> (step: PruneStep, verdict: Verdict)? in
                if !sig.isEmpty { f.signature = sig.baseAddress }
                return decider.decide(doc: doc, f)
            }
            decision.append(drop?.step.code ?? 0)
            docTokens.append(x.tokens)
            let score: Double? = o.keep == nil ? nil : x.score
            if o.keep != nil { scores.append(Float(score ?? .nan)) }
            try manifest.addDocument(doc: doc, source: source, position: p, line: x.line, offset: x.offset, tokens: Int(x.tokens),
                                     step: drop?.step.rawValue, reason: drop?.verdict.reason, detail: drop?.verdict.detail,
                                     score: score, matchDoc: drop?.verdict.matchDoc, similarity: drop?.verdict.similarity)
            report.before.docs += 1
            report.before.tokens += Int64(x.tokens)
            if doc % 4096 == 0 {
                try checkInterrupt()
                line.update(done: doc, docs: doc)
            }
        }
    }
    line.finish()
    for (k, c) in cursors.enumerated() where try c.next() != nil {
        throw StoreError("\(readers[k].path) holds documents beyond its files' counts; the plans do not belong together", status: .dataError)
    }
    report.balanceExpected = decider.balanceExpected
    if let mode = o.keep {
        let at = decider.steps.firstIndex(of: .keep)!
        report.keepCutoff = try selectKept(mode, o: o, decision: &decision, scores: scores, docTokens: docTokens,
                                           summary: &decider.summaries[at]) { doc, reason, detail in
            try manifest.drop(doc: Int64(doc), step: "keep", reason: reason, detail: detail)
        }
    }
    report.steps = decider.summaries
    let dropped = report.steps.reduce((Int64(0), Int64(0))) { ($0.0 + $1.dropped, $0.1 + $1.tokensDropped) }
    report.after.docs = report.before.docs - dropped.0
    report.after.tokens = report.before.tokens - dropped.1

    // Each shard's codes, in the order its stream reads its documents.
    var codes = [[UInt8]](repeating: [], count: n)
    for source in 0..<files.count {
        for p in 0..<fileInfo[source]!.records {
            codes[owner(source, p)].append(decision[Int(docsBefore[source] + p)])
        }
    }
    let writer = try StageWriter(path: out, kind: "tailscope prune resolution", fingerprint: fingerprint, shard: 0, of: n)
    defer { writer.abandon() }
    for (k, c) in codes.enumerated() { try writer.setDecisions(shard: k + 1, codes: c) }
    for (key, v) in [("by", by.rawValue), ("before_docs", "\(report.before.docs)"), ("before_tokens", "\(report.before.tokens)"),
                     ("before_bytes", "\(report.before.bytes)"), ("after_docs", "\(report.after.docs)"), ("after_tokens", "\(report.after.tokens)"),
                     ("skipped", countsText(report.skipped))] {
        try writer.setMeta(key, v)
    }
    report.output = nil
    try writeManifestHeader(manifest, report, o, ctx, complete: false)
    try manifest.setMeta("shards", "\(n) by \(by.rawValue)")
    try manifest.commit()
    try writer.commit()
    report.seconds = now() - t0
    report.peakRSS = peakRSS()
    return report
}

// MARK: - apply

private func pruneApply(_ o: PruneOptions, files: [String], dir: String, shard: ShardSpec, log: @escaping (String) -> Void) throws -> PruneReport {
    let t0 = now()
    guard let output = o.output else { throw PruneUsageError("--apply writes the shard's curated part: give -o FILE") }
    let fingerprint = phaseFingerprint(o, files: files, shards: shard.count, by: shard.by)
    guard fileExists(resolutionPath(dir)) else {
        throw StoreError("\(dir) is not resolved: run prune --resolve \(dir) after every shard's --plan", status: .dataError)
    }
    guard let resolved = try completeStage(resolutionPath(dir), fingerprint: fingerprint, what: "resolution") else {
        throw StoreError("\(resolutionPath(dir)) is incomplete; run prune --resolve \(dir) again", status: .dataError)
    }
    let path = applyPath(dir, shard.index, shard.count)
    var report = PruneReport()
    report.phase = "apply"; report.shard = shard; report.stageFile = path; report.inputs = files; report.output = output
    if let done = try completeStage(path, fingerprint: fingerprint, what: "apply result"), done.meta["output"] == output,
       let size = Int64(done.meta["output_bytes"] ?? ""), fileSize(output) == size {
        log("\(path): shard \(shard.index)/\(shard.count) is already applied to \(output) for these settings and inputs; skipped")
        report.after.docs = Int64(done.meta["docs_written"] ?? "") ?? 0
        report.alreadyComplete = true
        report.seconds = now() - t0
        return report
    }
    let destinations = try checkOutputs(inputs: pruneInputPaths(o, files), outputs: [NamedPath("-o", output), NamedPath("--apply", path)])
    cleanLeftovers(outputs: [output, path], tempDir: nil, log: log)
    var toStream = true
    if case .atomic = destinations[0] { toStream = false }
    let outKind = try outputKind(o, files: files, output: output, toStream: toStream)
    guard let codes = try resolved.decisions(shard: shard.index) else {
        throw StoreError("\(resolutionPath(dir)) holds no decisions for shard \(shard.index)", status: .dataError)
    }
    // Apply only tokenizes and counts: a context without the steps' tables (eval n-grams, the
    // index's unigrams, entries), which each worker would otherwise look every new type up in.
    var counting = o
    counting.decontaminate = []; counting.nearDup = nil; counting.balance = nil; counting.keep = nil; counting.entriesFile = nil
    let ctx = try PruneContext(counting, log: { _ in })
    let stream = CorpusStream(inputs: files, read: o.read, shard: shard, records: true)
    let formats = stream.files.map { o.read.format(of: $0) }
    let sink = try AtomicSink(path: output, compression: OutputCompression.forName(output), level: o.zstdLevel, threads: o.workers)
    let emitter = RecordEmitter(sink: sink, outKind: outKind, formats: formats)
    defer { sink.abandon() }
    let workers = (0..<o.workers).map { _ in PruneWorker(ctx, keepIds: false) }
    let ws = Shared(workers)
    let cs = Shared(codes)
    var read: Int64 = 0
    do {
        let pool = OrderedPool<Void>(input: stream.queue, workers: o.workers) { w, b in
            let first = Int(b.firstDoc)
            ws.value[w].countAll(b) { d in first + d < cs.value.count && cs.value[first + d] == 0 }
        }
        defer { stream.stop(); pool.finish() }
        var line = ProgressLine(label: "prune apply \(shard.index)/\(shard.count):", total: stream.totalBytes, enabled: o.progress)
        while let (b, _) = pool.next() {
            if let e = b.error { throw e }
            guard Int(b.firstDoc) + b.count <= codes.count else {
                throw StoreError("shard \(shard.index) reads more documents than were resolved (\(codes.count)); was the corpus changed after planning?", status: .dataError)
            }
            for d in 0..<b.count where codes[Int(b.firstDoc) + d] == 0 { try emitter.emit(b, d) }
            read = b.firstDoc + Int64(b.count)
            try checkInterrupt()
            stream.show(on: &line)
        }
        line.finish()
    }
    guard read == Int64(codes.count) else {
        throw StoreError("shard \(shard.index) read \(read) documents but \(codes.count) were resolved; was the corpus changed after planning?", status: .dataError)
    }
    // The shard's vocabulary before and after, summed over the workers by token.
    let vocab = Vocabulary()
    var kept: [UInt64] = []
    for w in workers {
        let kc = w.keptCounts
        for id in 0..<UInt32(w.vocab.count) {
            let m = vocab.intern(w.vocab.token(id))
            vocab.addCounted(m, count: w.vocab.count(of: id), df: 0)
            if Int(m) >= kept.count { kept.append(contentsOf: repeatElement(0, count: Int(m) + 1 - kept.count)) }
            if Int(id) < kc.count { kept[Int(m)] += kc[Int(id)] }
        }
    }
    let writer = try StageWriter(path: path, kind: "tailscope prune apply", fingerprint: fingerprint, shard: shard.index, of: shard.count)
    defer { writer.abandon() }
    for id in 0..<UInt32(vocab.count) {
        try writer.addToken(vocab.token(id), count: vocab.count(of: id), kept: Int(id) < kept.count ? kept[Int(id)] : 0)
    }
    try emitter.finish()
    report.after.docs = emitter.docs
    report.after.bytes = emitter.bytes
    report.outputBytes = sink.bytesOut
    for (k, v) in [("output", output), ("docs_read", "\(read)"), ("docs_written", "\(emitter.docs)"),
                   ("bytes_written", "\(emitter.bytes)"), ("output_bytes", "\(fileSize(output) ?? sink.bytesOut)")] {
        try writer.setMeta(k, v)
    }
    try writer.commit()
    report.seconds = now() - t0
    report.peakRSS = peakRSS()
    return report
}

// MARK: - finish

private func pruneFinish(_ o: PruneOptions, files: [String], dir: String, log: @escaping (String) -> Void) throws -> PruneReport {
    let t0 = now()
    guard fileExists(resolutionPath(dir)) else { throw StoreError("\(dir) is not resolved: run prune --resolve \(dir) first", status: .dataError) }
    let resolvedMeta = try StageReader(path: resolutionPath(dir))
    let n = resolvedMeta.shards
    let by = ShardSpec.By(rawValue: resolvedMeta.meta["by"] ?? "") ?? .file
    let fingerprint = phaseFingerprint(o, files: files, shards: n, by: by)
    guard try completeStage(resolutionPath(dir), fingerprint: fingerprint, what: "resolution") != nil else {
        throw StoreError("\(resolutionPath(dir)) is incomplete; run prune --resolve \(dir) again", status: .dataError)
    }
    let manifestOut = o.manifest ?? phaseManifestPath(dir)
    _ = try checkOutputs(inputs: pruneInputPaths(o, files), outputs: [NamedPath("--manifest", manifestOut)])
    var report = PruneReport()
    report.phase = "finish"; report.inputs = files; report.manifest = manifestOut
    let missing = (1...max(1, n)).filter { !fileExists(applyPath(dir, $0, n)) }
    guard missing.isEmpty else {
        throw StoreError("\(dir): shard(s) \(missing.map(String.init).joined(separator: ", ")) of \(n) are not applied yet (no \(lastComponent(applyPath(dir, missing[0], n))))", status: .dataError)
    }
    let before = Vocabulary(), after = Vocabulary()
    for k in 1...n {
        let r = try completeStage(applyPath(dir, k, n), fingerprint: fingerprint, what: "apply result")!
        try r.forEachToken { token, count, kept in
            before.addCounted(before.intern(token), count: count, df: 0)
            if kept > 0 { after.addCounted(after.intern(token), count: kept, df: 0) }
        }
        report.outputs.append(r.meta["output"] ?? "")
        report.after.docs += Int64(r.meta["docs_written"] ?? "") ?? 0
        report.after.bytes += Int64(r.meta["bytes_written"] ?? "") ?? 0
        report.outputBytes += Int64(r.meta["output_bytes"] ?? "") ?? 0
    }
    let m = resolvedMeta.meta
    report.before.docs = Int64(m["before_docs"] ?? "") ?? 0
    report.before.tokens = Int64(m["before_tokens"] ?? "") ?? 0
    report.before.bytes = Int64(m["before_bytes"] ?? "") ?? 0
    report.after.tokens = Int64(m["after_tokens"] ?? "") ?? 0
    guard report.after.docs == Int64(m["after_docs"] ?? "") ?? -1 else {
        throw StoreError("the shards wrote \(report.after.docs) documents but \(m["after_docs"] ?? "?") were kept; the apply files do not belong to this resolution", status: .dataError)
    }
    (report.before.types, report.before.hapax) = typesAndHapax(before)
    (report.after.types, report.after.hapax) = typesAndHapax(after)
    report.output = report.outputs.joined(separator: ", ")

    // Steps and reasons as resolve recorded them.
    let resolvedManifest = try ManifestReader(path: phaseManifestPath(dir))
    var reasons: [String: [String: (docs: Int64, tokens: Int64)]] = [:]
    for r in try resolvedManifest.reasons() { reasons[r.step, default: [:]][r.reason] = (r.docs, r.tokens) }
    for s in try resolvedManifest.steps() {
        guard let step = PruneStep(rawValue: s.step) else { continue }
        var st = StepSummary(step: step, parameters: s.parameters)
        st.docsIn = s.docsIn; st.dropped = s.docsDropped; st.tokensIn = s.tokensIn; st.tokensDropped = s.tokensDropped
        st.reasons = reasons[s.step] ?? [:]
        report.steps.append(st)
    }
    if let b = resolvedManifest.meta["balance_expected"], !b.isEmpty {
        let p = b.split(separator: " ").compactMap { Double($0) }
        if p.count == 2 { report.balanceExpected = (p[0], p[1]) }
    }
    report.keepCutoff = resolvedManifest.meta["keep_cutoff"].flatMap { Double($0) }
    if let p = resolvedManifest.meta["minhash_perms"], let perms = Int(p), let t = o.nearDup {
        report.minhash = MinHashParams(threshold: t, shingle: o.shingle, perms: perms, seed: o.seed)
    }
    report.skipped = parseCounts(m["skipped"] ?? "")

    if !o.coverageEvals.isEmpty {
        var config = TokenizerConfig()
        if let i = o.index { config = TokenizerConfig(caseFold: try IndexReader(path: i).caseFold) }
        var fields = o.evalFields
        fields.needCorrect = false
        fields.correctIfPresent = false
        let (rows, _) = try readEvalFiles(o.coverageEvals, fields: fields, onError: o.read.onError)
        let ex = TermExtractor(specs: [.content], tokenizer: Tokenizer(config: config), stopwords: o.stopwords)
        let terms = rows.map { ex.terms(of: $0).compactMap { $0.aliases.first?.first } }
        var c = CoverageSummary()
        addCoverage(terms, before, stage: 0, into: &c)
        addCoverage(terms, after, stage: 1, into: &c)
        report.coverage = c
    }

    cleanLeftovers(outputs: [manifestOut], tempDir: nil, log: log)
    let writer = try ManifestWriter(path: manifestOut, template: phaseManifestPath(dir))
    defer { writer.abandon() }
    try writeManifestSummary(writer, report)
    for (k, v) in [("output", report.outputs.joined(separator: "\n")), ("complete", "1"), ("finished_at", isoNow())] {
        try writer.setMeta(k, v)
    }
    try writer.commit()
    report.seconds = now() - t0
    report.peakRSS = peakRSS()
    return report
}
