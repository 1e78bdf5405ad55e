import CorpusIO
import Counting
import IndexStore
import Statistics
import Tokenization

/// `tailscope stats`: what an index holds.
public struct IndexStatistics: Sendable {
    public struct Order: Sendable {
        public let order: Int
        public let occurrences: UInt64
        public let types: UInt64
        public let stored: UInt64
        public let hapax: UInt64
        /// Share of distinct n-grams seen exactly once.
        public var hapaxShare: Double { types == 0 ? 0 : Double(hapax) / Double(types) }
    }

    /// Least-squares fit of log10(count) on log10(rank) for unigrams.
    public struct ZipfFit: Sendable {
        public let slope: Double
        public let intercept: Double
        public let r2: Double
        /// The fit uses ranks 1...maxRank: every token type seen at least `minCount` times.
        public let maxRank: Int
        public let minCount: UInt64
    }

    public let path: String
    public let meta: [String: String]
    public let docs: Int64
    public let tokens: Int64
    public let orders: [Order]
    public let zipf: ZipfFit?
    /// Maximum-likelihood Zipf exponent over the same ranks as `zipf`.
    public let zipfMLE: ZipfMLE?
    /// The exponent where a power law is judged: least squares over log-spaced ranks 10 to the
    /// last rank seen at least 5 times (every decade of ranks weighs about the same).
    public let zipfLogBinned: LogBinnedZipf?
    public let sources: [SourceRecord]
    /// Skipped inputs summed over sources, by kind.
    public let skipped: [String: Int64]
    public let replacedInvalidUTF8: Int64
}

public func indexStatistics(path: String) throws -> IndexStatistics {
    let r = try IndexReader(path: path)
    let orders = try r.orderStats().map {
        IndexStatistics.Order(order: $0.order, occurrences: $0.occurrences, types: $0.types, stored: $0.stored, hapax: $0.hapax)
    }
    let sources = try r.sources()
    let desc = try r.unigramCountsDescending()
    let fit = zipfFit(desc)
    var skipped: [String: Int64] = [:]
    var replaced: Int64 = 0
    for s in sources {
        for (k, v) in s.skipped { skipped[k, default: 0] += v }
        replaced += s.replacedInvalidUTF8
    }
    let m = try r.metadata
    return IndexStatistics(path: path, meta: r.meta, docs: m.docs, tokens: m.tokens, orders: orders,
                           zipf: fit, zipfMLE: fit.flatMap { zipfMLE(countsDescending: desc, maxRank: $0.maxRank) },
                           zipfLogBinned: fit.flatMap { logBinnedZipf(logSpacedRanks(desc), from: 10, to: $0.maxRank) }, sources: sources,
                           skipped: skipped, replacedInvalidUTF8: replaced)
}

public struct LogBinnedZipf: Sendable {
    public let exponent: Double
    public let intercept: Double
    public let r2: Double
    public let fromRank: Int
    public let toRank: Int
    public let points: Int
}

/// Least squares of log10 count on log10 rank over the log-spaced (rank, count) sample, ranks
/// `from`...`to`: every decade of ranks weighs about the same.
public func logBinnedZipf(_ rf: [(rank: Int, count: UInt64)], from: Int, to: Int) -> LogBinnedZipf? {
    let pts = rf.filter { $0.rank >= from && $0.rank <= to && $0.count > 0 }
    guard pts.count >= 3 else { return nil }
    let x = pts.map { log10(Double($0.rank)) }, y = pts.map { log10(Double($0.count)) }
    guard let f = simpleRegression(x, y), y.contains(where: { $0 != y[0] }) else { return nil }
    return LogBinnedZipf(exponent: -f.slope, intercept: f.intercept, r2: f.r2,
                         fromRank: pts.first!.rank, toRank: pts.last!.rank, points: pts.count)
}

/// About 300 log-spaced ranks of the unigram counts (descending), for plots and the log-binned fit.
public func logSpacedRanks(_ desc: [UInt64]) -> [(rank: Int, count: UInt64)] {
    var rf: [(Int, UInt64)] = []
    var lastRank = 0
    for k in 0..<300 where !desc.isEmpty {
        let r = Int(pow(Double(desc.count), Double(k) / 299).rounded())
        if r > lastRank && r <= desc.count { rf.append((r, desc[r - 1])); lastRank = r }
    }
    return rf
}

/// OLS of log10(count) on log10(rank) over the types seen at least 5 times (the hapax plateau
/// would flatten the slope). Nil when fewer than 10 types qualify.
func zipfFit(_ desc: [UInt64], minCount: UInt64 = 5) -> IndexStatistics.ZipfFit? {
    var n = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0, syy = 0.0
    var maxRank = 0
    for (i, c) in desc.enumerated() where c >= minCount {
        let x = log10(Double(i + 1)), y = log10(Double(c))
        n += 1; sx += x; sy += y; sxx += x * x; sxy += x * y; syy += y * y
        maxRank = i + 1
    }
    guard n >= 10 else { return nil }
    let vx = sxx - sx * sx / n, vy = syy - sy * sy / n, cxy = sxy - sx * sy / n
    guard vx > 0 else { return nil }
    let slope = cxy / vx
    let r2 = vy > 0 ? cxy * cxy / (vx * vy) : 1
    return .init(slope: slope, intercept: (sy - slope * sx) / n, r2: r2, maxRank: maxRank, minCount: minCount)
}

/// One answer of `tailscope count`.
public struct TermCount: Sendable {
    public let query: String
    /// The query's tokens under the index's tokenizer settings.
    public let tokens: [String]
    public let count: UInt64?
    public let df: UInt64?
    /// Why there is no count (nil when there is one).
    public let note: String?
}

/// Counts of phrases, tokenized with the index's own settings.
public func countTerms(path: String, queries: [String]) throws -> [TermCount] {
    let r = try IndexReader(path: path)
    let settings = try IndexSettings(meta: r.meta)
    let tok = Tokenizer(config: settings.tokenizer)
    var out: [TermCount] = []
    for q in queries {
        let ts = tok.tokens(of: q)
        if ts.isEmpty {
            out.append(TermCount(query: q, tokens: [], count: nil, df: nil, note: "no tokens in the query"))
            continue
        }
        if ts.count > r.maxOrder {
            out.append(TermCount(query: q, tokens: ts, count: nil, df: nil,
                                 note: "\(ts.count) tokens; the index holds n-grams up to \(r.maxOrder)"))
            continue
        }
        var ids: [UInt32] = []
        for t in ts {
            guard let id = try r.tokenId(t) else { break }
            ids.append(id)
        }
        if ids.count < ts.count {
            out.append(TermCount(query: q, tokens: ts, count: 0, df: 0, note: nil))
            continue
        }
        let (c, d) = try r.counts(ids: ids)
        let note = c == 0 && ts.count >= 2 && r.minCount > 1 ? "not stored: below --min-count \(r.minCount) or absent" : nil
        out.append(TermCount(query: q, tokens: ts, count: c, df: d, note: note))
    }
    return out
}

/// `tailscope top`.
public func topNGrams(path: String, order: Int, limit: Int, bottom: Bool) throws -> [NGramRow] {
    let r = try IndexReader(path: path)
    guard order >= 1 && order <= r.maxOrder else {
        throw IndexingError("the index holds orders 1-\(r.maxOrder), not \(order)")
    }
    return try r.top(order: order, limit: limit, bottom: bottom)
}

/// What `merge` did.
public struct MergeReport: Sendable {
    public var inputs: [String] = []
    public var docs: Int64 = 0
    public var tokens: Int64 = 0
    public var spills = 0
    public var seconds = 0.0
}

/// Sums indexes built with the same settings into a new one, exactly, in the memory budget.
/// Refuses inputs with different settings, and inputs that share a source (same checksum and
/// slice), which would be counted twice.
public func mergeIndexes(_ inputs: [String], output: String, memoryBytes: Int, tempDir: String, jobs: Int = 2,
                         log: (String) -> Void) throws -> MergeReport {
    let t0 = now()
    guard !inputs.isEmpty else { throw IndexingError("nothing to merge") }
    try checkIndexOutput(output, inputs: inputs.map { NamedPath("", $0) })
    if fileExists(output) { throw UsageError("\(output) exists; merge writes a new index") }
    cleanLeftovers(outputs: [output], tempDir: tempDir, log: log)
    let readers = try inputs.map { try IndexReader(path: $0) }
    let settings = try IndexSettings(meta: readers[0].meta)
    var seen: [String: String] = [:]
    var sources: [SourceRecord] = []
    var docs: Int64 = 0, tokens: Int64 = 0
    var exact = true
    for (i, r) in readers.enumerated() {
        let s = try IndexSettings(meta: r.meta)
        if let why = settings.mismatch(s) {
            throw IndexingError("\(inputs[i]) was built with other settings than \(inputs[0]) (\(why))")
        }
        for src in try r.sources() {
            let key = "\(src.checksum)|\(src.shard)"
            if let other = seen[key] {
                throw IndexingError("\(src.path) (\(src.shard)) is in both \(other) and \(inputs[i]); merging would count it twice")
            }
            seen[key] = inputs[i]
            sources.append(src)
        }
        let m = try r.metadata
        docs += m.docs
        tokens += m.tokens
        if !m.countsExact { exact = false }
    }
    if settings.minCount > 1 && readers.count > 1 {
        exact = false
        log("warning: inputs were built with --min-count \(settings.minCount); n-grams below it in one input are missing there, so merged counts of orders >= 2 are lower bounds (recorded as counts_exact = 0)")
    }
    let writer = try IndexWriter(path: output, maxOrder: settings.maxOrder, cacheBytes: min(64 << 20, memoryBytes / 8))
    var spills = 0
    do {
        try writer.setMeta(settings.metaPairs + [
            ("tool", "tailscope"), ("tool_version", tailscopeVersion), ("schema_version", "\(IndexWriter.schemaVersion)"),
            ("docs", "\(docs)"), ("tokens", "\(tokens)"), ("created_at", isoNow()), ("updated_at", isoNow()),
            ("counts_exact", exact ? "1" : "0"), ("merged_from", inputs.joined(separator: "\n")),
        ])
        try writer.addSources(sources)
        spills = try mergeCounts(readers, into: writer, settings: settings, memoryBytes: memoryBytes, tempDir: tempDir, jobs: jobs, log: log)
        try writer.commit()
    } catch {
        writer.abandon()
        throw error
    }
    var rep = MergeReport()
    rep.inputs = inputs
    rep.docs = docs
    rep.tokens = tokens
    rep.spills = spills
    rep.seconds = now() - t0
    return rep
}

#if canImport(Glibc)
import Glibc
#endif

/// Sums the counts of several indexes into `writer`: the vocabularies as sorted streams (ids in
/// token byte order; only a map of 4 bytes per input token is held), then the n-grams, input i
/// read and counted by thread i mod `jobs` in its own tables (spilling within `memoryBytes`), and
/// merged in key order with `settings.minCount`. Returns the number of spill runs.
func mergeCounts(_ readers: [IndexReader], into writer: IndexWriter, settings: IndexSettings, memoryBytes: Int,
                 tempDir: String, jobs: Int, log: (String) -> Void) throws -> Int {
    let maxOrder = settings.maxOrder
    log("merging the vocabularies of \(readers.count) index(es)")
    let maps = try writer.writeMergedVocabulary(readers)
    guard maxOrder >= 2 else { return 0 }
    let c = try NGramCounter(config: CounterConfig(maxOrder: maxOrder, workers: max(1, min(jobs, readers.count)),
                                                   tableBudget: memoryBytes / 4 * 3, tempDir: tempDir))
    defer { c.removeSpillDir() }
    let w = c.workerCount
    let errors = Locked<[Error]>([])
    let threads = (0..<w).map { k in
        JoinableThread {
            do {
                for i in stride(from: k, to: readers.count, by: w) {
                    if interruptFlag != 0 { return }
                    try seedNGrams(from: readers[i], map: maps[i], counter: c, worker: k, maxOrder: maxOrder)
                }
            } catch {
                errors.withLock { $0.append(error) }
            }
        }
    }
    for t in threads { t.join() }
    if let e = errors.withLock({ $0.first }) { throw e }
    try checkInterrupt()
    try c.finishInput()
    for n in 2...maxOrder {
        try checkInterrupt()
        let sink = try writer.ngramSink(order: n)
        let summary = try c.merge(order: n, minCount: settings.minCount, topK: storedTopK, sink: InterruptibleSink(sink))
        try sink.finish()
        try writer.writeSummary(summary) { (try? writer.token(id: $0)) ?? "" }
    }
    return c.spills
}
