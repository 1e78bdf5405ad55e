import Matching
import CorpusIO
import Counting
import Indexing
import IndexStore
import Synchronization
import Tokenization

/// `tailscope cooccur`: one targeted pass over the corpus for the terms an eval set asks about.
public struct CooccurOptions: Sendable {
    public var index: String
    public var evals: [String]
    public var corpus: [String]
    public var fields = EvalFields()
    /// Question-side terms paired with the answer.
    public var questionTerms: [TermSpec] = [.content]
    /// More terms to count (for terms longer than the index's orders).
    public var extraTerms: [TermSpec] = []
    public var window = 5
    /// How the corpus is read (text field, format, doc-per, max line); its `onError` is `onError`.
    public var read = ReadOptions()
    public var onError: ErrorPolicy = .stop
    public var progress = false
    public var stopwords: Set<String> = defaultStopwords
    /// A gazetteer file for `entities` question terms.
    public var entities: String? = nil
    /// Question-side pairs counted in the same pass (`--pairs`), stored as pairs beside the
    /// question-term/answer ones.
    public var pairs: QuestionPairSpec? = nil
    /// The slice of the corpus this run counts (`--shard K/N`, by file or by document).
    public var shard = ShardSpec(index: 1, count: 1, by: .file)
    /// With a shard: the shard file the counts go to (summed into the index by `merge`); nil
    /// writes into the index.
    public var shardOutput: String? = nil

    public init(index: String, evals: [String], corpus: [String]) {
        self.index = index; self.evals = evals; self.corpus = corpus
    }
}

public struct CooccurReport: Sendable {
    public var docs: Int64 = 0
    public var tokens: Int64 = 0
    public var bytes: Int64 = 0
    public var seconds = 0.0
    /// Reading the eval files, extracting terms and building the pass's tables.
    public var setupSeconds = 0.0
    public var passSeconds = 0.0
    /// Writing the counts.
    public var storeSeconds = 0.0
    public var patterns = 0
    public var pairs = 0
    public var questions = 0
    /// Distinct questions (by signature) with at least one document holding a question term and the answer.
    public var questionsWithDocs = 0
    /// Distinct questions without a question term or answer.
    public var questionsWithoutTerms = 0
    /// Distinct question-side pairs (`--pairs`) counted.
    public var questionSidePairs = 0
    /// The shard output was already complete for the same settings and inputs: nothing was read.
    public var alreadyComplete = false
    public var corpusFilesNotInIndex: [String] = []
    public var indexSourcesNotInCorpus = 0
    public var skipped: [String: Int64] = [:]
    /// (question term, answer, docs, window count), most documents first.
    public var topPairs: [(String, String, UInt64, UInt64)] = []
}


/// A question of the targeted pass: its question terms and answer, as pattern ids.
struct PassQuestion {
    let signature: String
    /// Per question term (terms equal to the answer are left out): its (term, answer) pair.
    let pairIds: [Int32]
}


public func cooccur(_ o: CooccurOptions, log: (String) -> Void) throws -> CooccurReport {
    let t0 = now()
    var report = CooccurReport()
    let reader = try IndexReader(path: o.index)
    let settings = try IndexSettings(meta: reader.meta)
    let tokenizer = Tokenizer(config: settings.tokenizer)

    // The corpus must be (part of) what the index counted. Each file's size must be a source's
    // now; its checksum, read on a helper thread during the pass, must be a source's before
    // anything is stored (reading every file once more up front would cost what the pass's
    // reading does at scale).
    var files: [String] = []
    let sources = try reader.sources()
    let known = Set(sources.map(\.checksum)), knownSizes = Set(sources.map(\.size))
    for f in try expandInputs(o.corpus, log: log) {
        do {
            _ = try FileSource(path: f)
        } catch {
            guard o.onError == .skip, error.kind == .unreadable else { throw error }
            log("\(f): skipped 1 unreadable (\(error.detail))")
            report.skipped[InputError.Kind.unreadable.rawValue, default: 0] += 1
            continue
        }
        files.append(f)
        if !knownSizes.contains(fileSize(f) ?? -1) { report.corpusFilesNotInIndex.append(f) }
    }
    guard !files.isEmpty else { throw CorrelateError("no readable corpus files") }
    func notASource() -> CorrelateError {
        CorrelateError("\(report.corpusFilesNotInIndex.joined(separator: ", ")) is not a source of \(o.index) (no source has its size and checksum); co-occurrence counts must come from the indexed corpus")
    }
    if !report.corpusFilesNotInIndex.isEmpty { throw notASource() }
    // A shard by file reads only its own files, and checks only theirs (each file is checked by
    // the shard that reads it, as `index --shard` does): N shards read the corpus once, not N times.
    let checked = o.shard.files(of: files).map { files[$0] }
    /// Waits for the checksums; throws when a file is not a source; counts the sources not given.
    func checkChecksums(_ checksums: ChecksumTask) throws {
        var seen = Set<String>()
        for (f, c) in zip(checked, try checksums.wait()) {
            let c = c!.description
            if !known.contains(c) { report.corpusFilesNotInIndex.append(f) }
            seen.insert(c)
        }
        if !report.corpusFilesNotInIndex.isEmpty { throw notASource() }
        if checked.count == files.count {
            report.indexSourcesNotInCorpus = known.subtracting(seen).count
        } else {
            // The other shards' files are known by size only: a source with no given file of its
            // size is certainly not given.
            let givenSizes = Set(files.map { fileSize($0) ?? -1 })
            report.indexSourcesNotInCorpus = Set(sources.filter { !givenSizes.contains($0.size) }.map(\.checksum)).count
        }
        if report.indexSourcesNotInCorpus > 0 {
            log("warning: \(report.indexSourcesNotInCorpus) source(s) of the index are not in --corpus; counts cover the given files only")
        }
    }
    // Shards of one run share its specification (the whole corpus); each counts its slice.
    let allFiles = files
    let spec = TargetedSpec(window: o.window,
                            questionTerms: o.questionTerms.map(\.description).joined(separator: ",") + (o.pairs.map { "; pairs " + $0.description } ?? ""),
                            eval: o.evals.joined(separator: "\n"), corpus: allFiles.joined(separator: "\n"),
                            indexSources: try reader.sourceIdentity())
    // A rerun of an array job skips a shard whose output is already complete for this run.
    if let out = o.shardOutput, let done = try? TargetedShard(path: out), done.spec == spec,
       done.shard == o.shard.index, done.shards == o.shard.count {
        try checkChecksums(ChecksumTask(paths: checked, skipUnreadable: false))
        log("\(out): shard \(o.shard.index)/\(o.shard.count) is already complete for these settings and inputs; skipped")
        report.docs = done.docs
        report.tokens = done.tokens
        report.alreadyComplete = true
        report.seconds = now() - t0
        return report
    }
    // The stream reads on its own thread; lanes (one per core, at most 4) take its batches from
    // one queue, whichever is free (no lane idles while another has batches waiting), and each
    // tokenizes, matches and credits pairs with counts of its own (summed at the end). It starts
    // now: while the eval files are read and the pass's tables built (a core's work for a
    // fraction of a second), the reader queues up to 64 MiB of batches.
    var read = o.read
    read.onError = o.onError
    let laneCount = max(1, min(4, onlineCores()))
    let producer = CorpusStream(inputs: allFiles, read: read, shard: o.shard, lanes: laneCount, sharedQueue: true, readAhead: 64 << 20)
    defer { producer.stop() }
    // The checksums are read on a helper thread that trails the reader (`ChecksumTrail`).
    let trail = ChecksumTrail(producer.progress)
    let checksums = ChecksumTask(paths: checked, skipUnreadable: false, allowance: { trail.allowance })
    // Questions, terms and patterns.
    var fields = o.fields
    fields.needAnswer = true
    fields.needCorrect = false
    fields.needKey = false
    for s in o.questionTerms + o.extraTerms { if case .field(let f) = s { fields.termFields.append(f) } }
    let (rows, _) = try readEvalFiles(o.evals, fields: fields, onError: o.onError)
    let gazetteer = try loadGazetteer(o.entities, specs: o.questionTerms + o.extraTerms, tokenizer: tokenizer, stopwords: o.stopwords)
    let (rowTerms, rowSource) = extractRowTerms(rows, o, tokenizer: settings.tokenizer, gazetteer: gazetteer)
    let vocab = Vocabulary()
    var patterns: [[UInt32]] = []
    var patternText: [String] = []
    // Patterns are keyed by their text, the tokens joined by spaces (no token holds a space), by
    // its bytes: the corpus's tokens are bytes, and two spellings are two patterns.
    var patternIndex: [ExactText: Int32] = [:]
    // A one-token pattern (most of them) is found by its token's id: one probe of the byte-keyed
    // vocabulary, not a hash of its text. Its text is its token (a text with a space is no token).
    var singleByToken: [Int32] = []
    func pattern(_ toks: [String], text: String? = nil) -> Int32 {
        if toks.count == 1 {
            assert(text == nil || text! == toks[0], "a one-token pattern's text is its token")
            var t = toks[0]
            let id = Int(t.withUTF8 { vocab.intern(UnsafeRawBufferPointer($0)) })
            if id < singleByToken.count && singleByToken[id] >= 0 { return singleByToken[id] }
            if id >= singleByToken.count { singleByToken += repeatElement(-1, count: id + 1 - singleByToken.count) }
            let p = Int32(patterns.count)
            patterns.append([UInt32(id)]); patternText.append(t)
            patternIndex[ExactText(t)] = p
            singleByToken[id] = p
            return p
        }
        let text = text ?? toks.joined(separator: " ")
        if let p = patternIndex[ExactText(text)] { return p }
        let ids = toks.map { t -> UInt32 in
            var t = t
            return t.withUTF8 { vocab.intern(UnsafeRawBufferPointer($0)) }
        }
        let p = Int32(patterns.count)
        patterns.append(ids); patternText.append(text)
        patternIndex[ExactText(text)] = p
        return p
    }
    var questions: [PassQuestion] = []
    var bySignature: [String: Int] = [:]
    var pairIndex = PairIndex()
    var pairNames: [(String, String)] = []
    var pairTerm: [[Int32]] = [], pairAnswer: [[Int32]] = []
    // Rows that repeat an earlier row (`rowSource`) add no pattern, pair or question: the
    // distinct rows are taken in order of first appearance, each row without an answer counted.
    patternIndex.reserveCapacity(rowTerms.count)
    bySignature.reserveCapacity(rowTerms.count)
    var rowsOf = [Int](repeating: 0, count: rowTerms.count)
    for u in rowSource { rowsOf[u] += 1 }
    // The rows' terms are read in place (a row's arrays are not copied or retained per step).
    rowTerms.withUnsafeBufferPointer { rts in
        for u in rts.indices {
            let rt = rts.baseAddress! + u
            for t in rt.pointee.extra { for a in t.aliases { _ = pattern(a) } }
            guard let a = rt.pointee.answer else { report.questionsWithoutTerms += rowsOf[u]; continue }
            if bySignature[rt.pointee.signature] != nil { continue }
            let ap = zip(a.aliases, rt.pointee.answerTexts).map { pattern($0, text: $1) }
            // A pair with one alias a side is found by one probe of a word-keyed table.
            let singleAnswer: Int32 = ap.count == 1 ? ap[0] : -1
            let termCount = rt.pointee.question.count
            var pids: [Int32] = []
            pids.reserveCapacity(termCount)
            for k in 0..<termCount {
                // A term that shares an alias with the answer is no question term (its texts are
                // patterns already when they are among the answer's). With one alias (most terms),
                // one lookup: a pattern made now is none of the answer's.
                let texts = rt.pointee.questionTexts[k]
                if texts.count == 1 {
                    let p = pattern(rt.pointee.question[k].aliases[0], text: texts[0])
                    if ap.contains(p) { continue }
                    if singleAnswer >= 0 {
                        let next = Int32(pairNames.count)
                        let id = pairIndex.single(term: p, answer: singleAnswer, else: next)
                        pids.append(id)
                        if id == next {
                            pairNames.append((texts[0], rt.pointee.answerTexts[0]))
                            pairTerm.append([p]); pairAnswer.append(ap)
                        }
                        continue
                    }
                }
                let t = rt.pointee.question[k]
                if texts.count > 1 && texts.contains(where: { patternIndex[ExactText($0)].map(ap.contains) ?? false }) { continue }
                let tp = zip(t.aliases, texts).map { pattern($0, text: $1) }
                if let id = pairIndex[tp, ap] { pids.append(id) } else {
                    let id = Int32(pairNames.count)
                    pairIndex[tp, ap] = id
                    pairNames.append((texts[0], rt.pointee.answerTexts[0]))
                    pairTerm.append(tp); pairAnswer.append(ap)
                    pids.append(id)
                }
            }
            if pids.isEmpty { report.questionsWithoutTerms += 1 }
            bySignature[rt.pointee.signature] = questions.count
            questions.append(PassQuestion(signature: rt.pointee.signature, pairIds: pids))
        }
    }
    // Question-side pairs: counted like the others, attached to no question's union.
    if o.pairs != nil {
        var qsp = 0
        for rt in rowTerms {
            for (x, y) in rt.sidePairs {
                let xp = x.aliases.map { pattern($0) }, yp = y.aliases.map { pattern($0) }
                guard pairIndex[xp, yp] == nil else { continue }
                pairIndex[xp, yp] = Int32(pairNames.count)
                pairNames.append((x.aliases[0].joined(separator: " "), y.aliases[0].joined(separator: " ")))
                pairTerm.append(xp); pairAnswer.append(yp)
                qsp += 1
            }
        }
        report.questionSidePairs = qsp
    }
    report.questions = questions.count
    report.patterns = patterns.count
    trail.start(rowsToStore: patterns.count + pairNames.count + questions.count)
    let automaton = TokenAutomaton(patterns: patterns)
    let patternLength = patterns.map { Int32($0.count) }

    // The pass.
    let tables = PairTables(patternLength: patternLength, pairTerm: pairTerm, pairAnswer: pairAnswer,
                            questionPairs: questions.map(\.pairIds))
    let pairCount = pairNames.count
    let tPass = now()
    report.setupSeconds = tPass - t0
    // The lanes' matchers share one set of tables (built once).
    let matcher = TokenMatcher(automaton, vocabulary: vocab)
    let lanes = (0..<laneCount).map { k in
        CooccurLane(queue: producer.queue, recycle: { [unowned producer] in producer.recycle($0) },
                    tokenizer: Tokenizer(config: settings.tokenizer),
                    matcher: k == 0 ? matcher : TokenMatcher(sharingTablesOf: matcher), pass: PairPass(tables, window: o.window))
    }
    releaseInBackground((rows, rowTerms, rowSource, bySignature))
    producer.settle()
    var progressLine = ProgressLine(label: "cooccur:", total: producer.totalBytes, enabled: o.progress)
    try producer.runLanes(lanes.map { lane in { lane.run() } }, every: o.progress ? 0.5 : 0.1) {
        producer.show(on: &progressLine, tokens: lanes.reduce(Int64(0)) { $0 + $1.tokensSeen.load(ordering: .relaxed) })
    }
    progressLine.finish()
    if let e = lanes.lazy.compactMap(\.error).first { throw e }
    try checkInterrupt()
    report.tokens = lanes.reduce(Int64(0)) { $0 + $1.tokensSeen.load(ordering: .relaxed) }
    for (fi, end) in lanes.flatMap(\.ends).sorted(by: { $0.0 < $1.0 }) {
        report.bytes += end.counters.bytesDecompressed
        for (k, v) in end.counters.skipped { report.skipped[k.rawValue, default: 0] += v }
        if !end.counters.skipped.isEmpty {
            log("\(producer.files[fi]): skipped " + end.counters.skipped.map { "\($0.value) \($0.key.rawValue)" }.sorted().joined(separator: ", "))
        }
    }
    let passes = lanes.map(\.pass)
    let totals = PairTotals(passes)
    let doc = totals.docs
    report.docs = doc
    let count = totals.count, df = totals.df
    let pairDocs = totals.pairDocs, pairWindow = totals.pairWindow
    let questionDocs = totals.questionDocs, questionWindow = totals.questionWindow
    report.passSeconds = now() - tPass
    trail.release()

    // Store, all or nothing: the checksums must show the corpus to be the index's before the
    // rows are committed.
    let tStore = now()
    let writer: TargetedSink
    if let out = o.shardOutput {
        writer = try TargetedShardWriter(path: out, spec: spec, shard: o.shard.index, of: o.shard.count, createdAt: isoNow())
    } else {
        writer = try TargetedWriter(path: o.index, window: spec.window, questionTerms: spec.questionTerms,
                                    eval: spec.eval, corpus: spec.corpus, createdAt: isoNow())
    }
    do {
        for (p, t) in patternText.enumerated() { try writer.addTerm(t, n: patterns[p].count, count: count[p], df: df[p]) }
        // One row per pair, keyed by what it counts: both full alias lists. (Pairs that share
        // only their first spellings count different documents and are never summed.)
        // Pairs are distinct by their patterns, and patterns by their texts: the keys can only
        // repeat when a text holds `|` or a tab (a token of those), and only then are they checked.
        var keys = Set<String>()
        let keysCanRepeat = patternText.contains { $0.utf8.contains { $0 == UInt8(ascii: "|") || $0 == 0x09 } }
        var stored = 0
        /// A side's alias texts joined by `|` (a single alias's text as it is).
        func aliasKey(_ ps: [Int32]) -> String { ps.count == 1 ? patternText[Int(ps[0])] : ps.map { patternText[Int($0)] }.joined(separator: "|") }
        for i in 0..<pairCount {
            let qa = aliasKey(pairTerm[i]), aa = aliasKey(pairAnswer[i])
            if keysCanRepeat { guard keys.insert(qa + "\t" + aa).inserted else { continue } }
            stored += 1
            // A pair's documents hold an alias of each side: never more than either side's
            // documents (at most the sum of its aliases' document frequencies).
            let qdf = pairTerm[i].reduce(UInt64(0)) { $0 + df[Int($1)] }
            let adf = pairAnswer[i].reduce(UInt64(0)) { $0 + df[Int($1)] }
            guard pairDocs[i] <= qdf && pairDocs[i] <= adf else {
                throw CorrelateError("internal error: pair (\(qa), \(aa)) counted in \(pairDocs[i]) documents, more than its sides' \(qdf) and \(adf); nothing was stored")
            }
            try writer.addPair(question: pairNames[i].0, answer: pairNames[i].1, questionAliases: qa, answerAliases: aa,
                               docs: pairDocs[i], window: pairWindow[i])
        }
        for (i, q) in questions.enumerated() { try writer.addQuestion(signature: q.signature, docs: questionDocs[i], window: questionWindow[i]) }
        try checkChecksums(checksums)
        try checkInterrupt()
        try writer.commit(docs: doc, tokens: report.tokens, terms: patterns.count, pairs: stored, questions: questions.count)
        report.pairs = stored
    } catch {
        writer.abandon()
        throw error
    }
    report.storeSeconds = now() - tStore
    report.questionsWithDocs = questionDocs.filter { $0 > 0 }.count
    let top = topPairs(docs: pairDocs, window: pairWindow, names: pairNames, limit: 10)
    report.topPairs = top.map { (pairNames[$0].0, pairNames[$0].1, pairDocs[$0], pairWindow[$0]) }
    report.seconds = now() - t0
    return report
}

/// How far `cooccur`'s checksum thread may read into the corpus: it trails the stream's reader
/// by a KiB for each row the run will store. A KiB takes about 1 µs to checksum and a row 1.5-3
/// µs to store, so the last part of the checksums is read while the store runs (one core's work:
/// another core would otherwise idle) instead of during the pass, which keeps every core busy.
/// Trailing the reader, the thread reads bytes the reader read moments before (from the page
/// cache, not from disk a second time). It reads nothing before the rows are known, and reads
/// to the end once released.
private final class ChecksumTrail: Sendable {
    private let progress: ReadProgress
    /// Bytes behind the reader; `Int64.max` before `start`, `Int64.min` once released.
    private let lag = Atomic<Int64>(Int64.max)

    init(_ progress: ReadProgress) { self.progress = progress }

    func start(rowsToStore rows: Int) { lag.store(Int64(rows) << 10, ordering: .relaxed) }
    func release() { lag.store(Int64.min, ordering: .relaxed) }

    var allowance: Int64 {
        let l = lag.load(ordering: .relaxed)
        return l == Int64.min ? Int64.max : progress.compressed.load(ordering: .relaxed) &- l
    }
}

/// The `limit` pairs with the most documents, then window hits, then names (the pair first in
/// pair order on a full tie), best first: a selection, not a sort of every pair.
func topPairs(docs: [UInt64], window: [UInt64], names: [(String, String)], limit: Int) -> [Int] {
    func before(_ i: Int, _ j: Int) -> Bool {
        docs[i] != docs[j] ? docs[i] > docs[j] : window[i] != window[j] ? window[i] > window[j]
            : (names[i].0, names[i].1) < (names[j].0, names[j].1)
    }
    var top: [Int] = []
    guard limit > 0 else { return top }
    for i in docs.indices where top.count < limit || before(i, top[top.count - 1]) {
        var k = top.count
        while k > 0 && before(i, top[k - 1]) { k -= 1 }
        top.insert(i, at: k)
        if top.count > limit { top.removeLast() }
    }
    return top
}

/// A row's terms: extra terms, question terms, its answer and the question's signature, and the
/// texts of the question terms' and the answer's aliases (tokens joined by spaces).
struct RowTerms: Sendable {
    var extra: [Term] = []
    var question: [Term] = []
    var answer: Term? = nil
    var signature = ""
    var questionTexts: [[String]] = []
    var answerTexts: [String] = []
    /// `--pairs`: the row's question-side pairs.
    var sidePairs: [(Term, Term)] = []
}

/// Every row's terms, extracted on several threads (each with its own tokenizer): for large eval
/// files this is most of the setup before the pass. Rows with the same question, answers and no
/// term fields (one question under several models or methods) have the same terms: they are
/// extracted once.
func extractRowTerms(_ rows: [EvalRow], _ o: CooccurOptions, tokenizer config: TokenizerConfig, gazetteer: Gazetteer?) -> (terms: [RowTerms], source: [Int]) {
    var firstRow: [ByteKey: Int] = [:]
    firstRow.reserveCapacity(rows.count)
    var unique: [EvalRow] = []
    let source = rows.map { r -> Int in
        guard r.termFields.isEmpty else { unique.append(r); return unique.count - 1 }
        // The bytes of each string with its length in front: rows that differ in any byte never
        // share a key (String equality would merge canonically equivalent spellings).
        var key: [UInt8] = []
        key.reserveCapacity(r.question.utf8.count + r.answers.reduce(0) { $0 + $1.utf8.count } + 8 * (r.answers.count + 1))
        for s in CollectionOfOne(r.question) + r.answers {
            withUnsafeBytes(of: s.utf8.count) { key.append(contentsOf: $0) }
            key.append(contentsOf: s.utf8)
        }
        let k = ByteKey(key)
        if let u = firstRow[k] { return u }
        firstRow[k] = unique.count
        unique.append(r)
        return unique.count - 1
    }
    let terms = extractUniqueRowTerms(unique, o, tokenizer: config, gazetteer: gazetteer)
    releaseInBackground((firstRow, unique))
    return (terms, source)
}

/// Bytes as a dictionary key, hashed as one run of bytes (an array of bytes hashes byte by byte).
private struct ByteKey: Hashable {
    let bytes: [UInt8]
    init(_ b: [UInt8]) { bytes = b }
    func hash(into h: inout Hasher) { bytes.withUnsafeBytes { h.combine(bytes: $0) } }
}

private func extractUniqueRowTerms(_ rows: [EvalRow], _ o: CooccurOptions, tokenizer config: TokenizerConfig, gazetteer: Gazetteer?) -> [RowTerms] {
    parallelChunks(rows.count) { range in
        let tokenizer = Tokenizer(config: config)
        let qx = TermExtractor(specs: o.questionTerms, tokenizer: tokenizer, stopwords: o.stopwords, gazetteer: gazetteer)
        let ax = TermExtractor(specs: [.answer], tokenizer: tokenizer, stopwords: o.stopwords)
        let ex = TermExtractor(specs: o.extraTerms, tokenizer: tokenizer, stopwords: o.stopwords, gazetteer: gazetteer)
        return rows[range].map { r in
            var t = RowTerms()
            t.extra = ex.terms(of: r)
            t.question = qx.terms(of: r)
            t.answer = ax.terms(of: r).first
            if let spec = o.pairs { t.sidePairs = questionSidePairs(r, spec, tokenizer: tokenizer) }
            if let a = t.answer {
                t.questionTexts = t.question.map { $0.aliases.map(aliasText) }
                t.answerTexts = a.aliases.map(aliasText)
                t.signature = qaSignature(questionTexts: t.questionTexts, answerTexts: t.answerTexts)
            }
            return t
        }
    }
}

/// (question term, answer) pairs by the patterns of their aliases -> pair id. A pair with one
/// alias a side, most of them, is keyed by the two pattern ids in one word.
struct PairIndex {
    private var single = WordTable()
    private var general: [PairKey: Int32] = [:]

    /// The id of the pair of patterns `term` and `answer` (one alias a side); when there is none,
    /// it becomes `new`. One probe either way.
    mutating func single(term: Int32, answer: Int32, else new: Int32) -> Int32 {
        single.value(UInt64(UInt32(term)) << 32 | UInt64(UInt32(answer)), else: new)
    }

    subscript(term: [Int32], answer: [Int32]) -> Int32? {
        get {
            if term.count == 1 && answer.count == 1 { return single[UInt64(UInt32(term[0])) << 32 | UInt64(UInt32(answer[0]))] }
            return general[PairKey(term: term, answer: answer)]
        }
        set {
            if term.count == 1 && answer.count == 1 {
                single[UInt64(UInt32(term[0])) << 32 | UInt64(UInt32(answer[0]))] = newValue!
                return
            }
            general[PairKey(term: term, answer: answer)] = newValue
        }
    }
}

/// Word keys (never `UInt64.max`) -> non-negative ids: open addressing with linear probing and a
/// multiplicative hash, at most half full, each key beside its value (one cache line a probe; a
/// dictionary would hash each word with SipHash).
struct WordTable {
    private struct Slot { var key: UInt64; var value: Int32 }
    private var slots = [Slot](repeating: Slot(key: .max, value: -1), count: 16)
    private var count = 0
    /// 64 - log2(capacity): the slot is the product's top bits (where every bit of the key counts).
    private var shift: UInt64 = 60

    @inline(__always) private func slot(_ k: UInt64) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `k`, or the empty slot where it would go.
    @inline(__always) private func find(_ k: UInt64) -> Int {
        var i = slot(k)
        while slots[i].key != k && slots[i].key != .max { i = (i + 1) & (slots.count - 1) }
        return i
    }

    subscript(k: UInt64) -> Int32? {
        get { let i = find(k); return slots[i].key == k ? slots[i].value : nil }
        set {
            precondition(k != .max && newValue != nil && newValue! >= 0)
            let i = find(k)
            if slots[i].key == k { slots[i].value = newValue!; return }
            insert(k, newValue!, at: i)
        }
    }

    /// The value of `k`; when there is none, `new` becomes it.
    mutating func value(_ k: UInt64, else new: Int32) -> Int32 {
        let i = find(k)
        if slots[i].key == k { return slots[i].value }
        precondition(k != .max && new >= 0)
        insert(k, new, at: i)
        return new
    }

    private mutating func insert(_ k: UInt64, _ v: Int32, at i: Int) {
        slots[i] = Slot(key: k, value: v)
        count += 1
        if 2 * count > slots.count { grow() }
    }

    private mutating func grow() {
        let old = slots
        shift -= 1
        slots = [Slot](repeating: Slot(key: .max, value: -1), count: 2 * old.count)
        for s in old where s.key != .max { slots[find(s.key)] = s }
    }
}

/// A (question term, answer) pair by the patterns of their aliases.
struct PairKey: Hashable {
    let term: [Int32]
    let answer: [Int32]

    /// Both lists as runs of bytes (arrays hash element by element), the first's length between.
    func hash(into h: inout Hasher) {
        term.withUnsafeBytes { h.combine(bytes: $0) }
        h.combine(term.count)
        answer.withUnsafeBytes { h.combine(bytes: $0) }
    }
}
