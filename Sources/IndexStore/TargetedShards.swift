import Support
#if canImport(Glibc)
import Glibc
#endif

/// Where a targeted pass (`cooccur`) stores what it counted: into the index (`TargetedWriter`),
/// or into a shard file that `merge` sums into the index later (`TargetedShardWriter`).
public protocol TargetedSink: AnyObject {
    func addTerm(_ term: String, n: Int, count: UInt64, df: UInt64) throws(StoreError)
    func addPair(question: String, answer: String, questionAliases: String, answerAliases: String,
                 docs: UInt64, window: UInt64) throws(StoreError)
    func addQuestion(signature: String, docs: UInt64, window: UInt64) throws(StoreError)
    func commit(docs: Int64, tokens: Int64, terms: Int, pairs: Int, questions: Int) throws(StoreError)
    func abandon()
}

extension TargetedWriter: TargetedSink {}

/// What a targeted run counts: two runs (or shards) with the same specification count the same
/// things and can be summed.
public struct TargetedSpec: Sendable, Equatable {
    public var window: Int
    public var questionTerms: String
    public var eval: String
    public var corpus: String
    /// The index the run belongs to (its sources' checksums), so a shard is never summed into
    /// another index.
    public var indexSources: String

    public init(window: Int, questionTerms: String, eval: String, corpus: String, indexSources: String) {
        self.window = window; self.questionTerms = questionTerms; self.eval = eval; self.corpus = corpus
        self.indexSources = indexSources
    }
}

/// A cooccur shard file (`cooccur --shard K/N -o FILE`): the counts of one slice of the corpus,
/// written to `NAME.tailscope-tmp-PID` and renamed into place only when complete.
///
///     shard_meta(key, value)          spec, shard K of N, docs, tokens, complete
///     targeted_terms(term, n, count, df)
///     cooccur_pairs(qterm, answer, qterm_aliases, answer_aliases, docs, window_count)
///     cooccur_questions(signature, docs, window_count)
public final class TargetedShardWriter: TargetedSink {
    public static let schemaVersion = 1
    static let schema = """
    CREATE TABLE shard_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE targeted_terms(term TEXT PRIMARY KEY, n INTEGER NOT NULL, count INTEGER NOT NULL, df INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE cooccur_pairs(qterm TEXT NOT NULL, answer TEXT NOT NULL, qterm_aliases TEXT NOT NULL, answer_aliases TEXT NOT NULL,
        docs INTEGER NOT NULL, window_count INTEGER NOT NULL, PRIMARY KEY(qterm_aliases, answer_aliases)) WITHOUT ROWID;
    CREATE TABLE cooccur_questions(signature TEXT PRIMARY KEY, docs INTEGER NOT NULL, window_count INTEGER NOT NULL) WITHOUT ROWID;
    """
    let staged: StagedDatabase
    var db: Database? { staged.db }
    let termSt: Statement, pairSt: Statement, questionSt: Statement

    public init(path: String, spec: TargetedSpec, shard: Int, of count: Int, createdAt: String) throws(StoreError) {
        staged = try StagedDatabase(path: path, what: "a cooccur shard")
        try staged.db!.exec("PRAGMA application_id = 1953718883;")
        try staged.begin(schema: Self.schema, version: Self.schemaVersion)
        let d = staged.db!
        termSt = try d.prepare("INSERT OR REPLACE INTO targeted_terms VALUES (?1, ?2, ?3, ?4)")
        pairSt = try d.prepare("INSERT INTO cooccur_pairs VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        questionSt = try d.prepare("INSERT OR REPLACE INTO cooccur_questions VALUES (?1, ?2, ?3)")
        for (k, v) in [("kind", "tailscope cooccur shard"), ("window", "\(spec.window)"), ("question_terms", spec.questionTerms),
                       ("eval", spec.eval), ("corpus", spec.corpus), ("index_sources", spec.indexSources),
                       ("shard", "\(shard)"), ("shards", "\(count)"), ("created_at", createdAt)] {
            try setMeta(k, v)
        }
    }

    deinit { abandon() }

    func setMeta(_ key: String, _ value: String) throws(StoreError) {
        let st = try db!.prepare("INSERT OR REPLACE INTO shard_meta VALUES (?1, ?2)")
        st.bind(1, key); st.bind(2, value)
        try st.run()
    }

    // As `TargetedWriter`'s: the texts are bound in place.

    public func addTerm(_ term: String, n: Int, count: UInt64, df: UInt64) throws(StoreError) {
        termSt.bind(2, Int64(n)); termSt.bind(3, count); termSt.bind(4, df)
        var term = term
        if let e = term.withUTF8({ t in termSt.bindInPlace(1, t); return termSt.runInPlace(unbinding: 1...1) }) { throw e }
    }

    public func addPair(question: String, answer: String, questionAliases: String, answerAliases: String,
                        docs: UInt64, window: UInt64) throws(StoreError) {
        pairSt.bind(5, docs); pairSt.bind(6, window)
        var q = question, a = answer, qa = questionAliases, aa = answerAliases
        let error = q.withUTF8 { qb in a.withUTF8 { ab in qa.withUTF8 { qab in aa.withUTF8 { aab in
            pairSt.bindInPlace(1, qb); pairSt.bindInPlace(2, ab); pairSt.bindInPlace(3, qab); pairSt.bindInPlace(4, aab)
            return pairSt.runInPlace(unbinding: 1...4)
        } } } }
        if let error { throw error }
    }

    public func addQuestion(signature: String, docs: UInt64, window: UInt64) throws(StoreError) {
        questionSt.bind(2, docs); questionSt.bind(3, window)
        var signature = signature
        if let e = signature.withUTF8({ t in questionSt.bindInPlace(1, t); return questionSt.runInPlace(unbinding: 1...1) }) { throw e }
    }

    /// Records the totals, marks the shard complete and renames it into place.
    public func commit(docs: Int64, tokens: Int64, terms: Int, pairs: Int, questions: Int) throws(StoreError) {
        guard let d = db else { return }
        try setMeta("docs", "\(docs)")
        try setMeta("tokens", "\(tokens)")
        try setMeta("complete", "1")
        try d.exec("COMMIT")
        try staged.finish()
    }

    public func abandon() { staged.abandon() }
}

/// The contents of a cooccur shard file.
public struct TargetedShard: Sendable {
    public let path: String
    public let spec: TargetedSpec
    public let shard: Int
    public let shards: Int
    public let docs: Int64
    public let tokens: Int64
    public let terms: [String: (n: Int, count: UInt64, df: UInt64)]
    /// Keyed by "qterm_aliases\tanswer_aliases".
    public let pairs: [String: (question: String, answer: String, docs: UInt64, window: UInt64)]
    public let questions: [String: (docs: UInt64, window: UInt64)]

    /// Reads a shard; refuses a file that is not one or that is incomplete.
    public init(path: String) throws(StoreError) {
        self.path = path
        let db = try Database(path: path, readOnly: true)
        defer { db.close() }
        var meta: [String: String] = [:]
        do {
            let st = try db.prepare("SELECT key, value FROM shard_meta")
            while try st.step() { meta[st.text(0)] = st.text(1) }
        } catch {
            throw StoreError("\(path) is not a cooccur shard (made by `cooccur --shard K/N -o FILE`)", status: .dataError)
        }
        guard meta["kind"] == "tailscope cooccur shard" else { throw StoreError("\(path) is not a cooccur shard", status: .dataError) }
        guard meta["complete"] == "1" else { throw StoreError("\(path) is an incomplete cooccur shard (its run did not finish); run that shard again", status: .dataError) }
        guard let w = meta["window"].flatMap({ Int($0) }), let k = meta["shard"].flatMap({ Int($0) }), let n = meta["shards"].flatMap({ Int($0) }) else {
            throw StoreError("\(path): the shard's metadata is damaged", status: .dataError)
        }
        spec = TargetedSpec(window: w, questionTerms: meta["question_terms"] ?? "", eval: meta["eval"] ?? "",
                            corpus: meta["corpus"] ?? "", indexSources: meta["index_sources"] ?? "")
        shard = k; shards = n
        docs = Int64(meta["docs"] ?? "0") ?? 0
        tokens = Int64(meta["tokens"] ?? "0") ?? 0
        var terms: [String: (n: Int, count: UInt64, df: UInt64)] = [:]
        let ts = try db.prepare("SELECT term, n, count, df FROM targeted_terms")
        while try ts.step() { terms[ts.text(0)] = (Int(ts.int(1)), UInt64(ts.int(2)), UInt64(ts.int(3))) }
        var pairs: [String: (question: String, answer: String, docs: UInt64, window: UInt64)] = [:]
        let ps = try db.prepare("SELECT qterm, answer, qterm_aliases, answer_aliases, docs, window_count FROM cooccur_pairs")
        while try ps.step() { pairs[ps.text(2) + "\t" + ps.text(3)] = (ps.text(0), ps.text(1), UInt64(ps.int(4)), UInt64(ps.int(5))) }
        var questions: [String: (docs: UInt64, window: UInt64)] = [:]
        let qs = try db.prepare("SELECT signature, docs, window_count FROM cooccur_questions")
        while try qs.step() { questions[qs.text(0)] = (UInt64(qs.int(1)), UInt64(qs.int(2))) }
        self.terms = terms; self.pairs = pairs; self.questions = questions
    }
}

extension IndexReader {
    /// The index's sources (their checksums, sorted): what a cooccur shard records so that `merge`
    /// sums it into this index only.
    public func sourceIdentity() throws(StoreError) -> String {
        try sources().map(\.checksum).sorted().joined(separator: ",")
    }
}

/// What summing cooccur shards into an index did.
public struct TargetedMergeReport: Sendable {
    public let shards: Int
    public let docs: Int64
    public let tokens: Int64
    public let terms: Int
    public let pairs: Int
    public let questions: Int
}

/// Sums complete cooccur shards of one run (same specification, shards 1...N each once) into the
/// index as one targeted run, exactly; refuses anything else before writing.
public func mergeTargetedShards(_ paths: [String], into index: String) throws(StoreError) -> TargetedMergeReport {
    guard !paths.isEmpty else { throw StoreError("no cooccur shards given", status: .dataError) }
    var shards: [TargetedShard] = []
    for p in paths { shards.append(try TargetedShard(path: p)) }
    let first = shards[0]
    for s in shards.dropFirst() where s.spec != first.spec || s.shards != first.shards {
        let what = s.shards != first.shards ? "a different shard count (\(s.shards) vs \(first.shards))"
            : s.spec.window != first.spec.window ? "a different --window (\(s.spec.window) vs \(first.spec.window))"
            : s.spec.questionTerms != first.spec.questionTerms ? "different question terms (\(s.spec.questionTerms) vs \(first.spec.questionTerms))"
            : s.spec.eval != first.spec.eval ? "different eval files" : s.spec.corpus != first.spec.corpus ? "a different corpus" : "another index"
        throw StoreError("\(s.path) and \(first.path) come from different cooccur runs: \(what); only shards of one run are summed", status: .dataError)
    }
    var seen: [Int: String] = [:]
    for s in shards {
        if let other = seen[s.shard] { throw StoreError("\(s.path) and \(other) are both shard \(s.shard)/\(s.shards); each shard once", status: .dataError) }
        seen[s.shard] = s.path
    }
    let missing = (1...first.shards).filter { seen[$0] == nil }
    guard missing.isEmpty else {
        throw StoreError("incomplete set: shard(s) \(missing.map { "\($0)/\(first.shards)" }.joined(separator: ", ")) missing; merge needs all \(first.shards)", status: .dataError)
    }
    let reader = try IndexReader(path: index)
    guard try reader.sourceIdentity() == first.spec.indexSources else {
        throw StoreError("the shards were counted for another index (their sources differ from \(index)'s)", status: .dataError)
    }
    // Sums: shards count disjoint documents, so counts, document frequencies and window hits add.
    var terms: [String: (n: Int, count: UInt64, df: UInt64)] = [:]
    var pairs: [String: (question: String, answer: String, docs: UInt64, window: UInt64)] = [:]
    var questions: [String: (docs: UInt64, window: UInt64)] = [:]
    var docs: Int64 = 0, tokens: Int64 = 0
    for s in shards {
        docs += s.docs; tokens += s.tokens
        for (k, v) in s.terms { let o = terms[k]; terms[k] = (v.n, (o?.count ?? 0) + v.count, (o?.df ?? 0) + v.df) }
        for (k, v) in s.pairs { let o = pairs[k]; pairs[k] = (v.question, v.answer, (o?.docs ?? 0) + v.docs, (o?.window ?? 0) + v.window) }
        for (k, v) in s.questions { let o = questions[k]; questions[k] = ((o?.docs ?? 0) + v.docs, (o?.window ?? 0) + v.window) }
    }
    let writer = try TargetedWriter(path: index, window: first.spec.window, questionTerms: first.spec.questionTerms,
                                    eval: first.spec.eval, corpus: first.spec.corpus, createdAt: isoNow())
    do {
        for k in terms.keys.sorted() { let t = terms[k]!; try writer.addTerm(k, n: t.n, count: t.count, df: t.df) }
        for k in pairs.keys.sorted() {
            let p = pairs[k]!
            let sides = k.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            try writer.addPair(question: p.question, answer: p.answer, questionAliases: sides[0], answerAliases: sides.count > 1 ? sides[1] : "",
                               docs: p.docs, window: p.window)
        }
        for k in questions.keys.sorted() { let q = questions[k]!; try writer.addQuestion(signature: k, docs: q.docs, window: q.window) }
        try writer.commit(docs: docs, tokens: tokens, terms: terms.count, pairs: pairs.count, questions: questions.count)
    } catch {
        writer.abandon()
        throw error
    }
    return TargetedMergeReport(shards: shards.count, docs: docs, tokens: tokens, terms: terms.count, pairs: pairs.count, questions: questions.count)
}
