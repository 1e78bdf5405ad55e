#if canImport(Glibc)
import Glibc
#endif

/// Set-based lookups (many terms per query) and the tables of targeted passes.
extension IndexReader {
    /// Count and document frequency of many n-grams given as normalized tokens, in a few
    /// set-based queries: the distinct tokens go into a temporary table joined with `vocab`, then
    /// the n-grams of each order into a temporary table joined with `ngramN`. (0, 0) for an
    /// n-gram the index does not hold; nil for one longer than the index's highest order.
    public func counts(ngrams: [[String]]) throws(StoreError) -> [(count: UInt64, df: UInt64)?] {
        var out = [(count: UInt64, df: UInt64)?](repeating: (0, 0), count: ngrams.count)
        var tokens = Set<String>()
        for (i, g) in ngrams.enumerated() {
            if g.isEmpty || g.count > maxOrder { out[i] = nil } else { tokens.formUnion(g) }
        }
        guard !tokens.isEmpty else { return out }
        try db.exec("PRAGMA temp_store = MEMORY; DROP TABLE IF EXISTS temp.q_tokens; CREATE TEMP TABLE q_tokens(token TEXT PRIMARY KEY) WITHOUT ROWID;")
        let ins = try db.prepare("INSERT OR IGNORE INTO temp.q_tokens(token) VALUES (?1)")
        try db.exec("BEGIN")
        for t in tokens { ins.bind(1, t); try ins.run() }
        try db.exec("COMMIT")
        var ids: [String: UInt32] = [:]
        var unigram: [UInt32: (UInt64, UInt64)] = [:]
        let sel = try db.prepare("SELECT v.token, v.id, v.count, v.df FROM temp.q_tokens q JOIN vocab v ON v.token = q.token")
        while try sel.step() {
            let id = UInt32(sel.int(1))
            ids[sel.text(0)] = id
            unigram[id] = (UInt64(sel.int(2)), UInt64(sel.int(3)))
        }
        sel.reset(); ins.reset()
        try db.exec("DROP TABLE temp.q_tokens")
        var byOrder: [Int: [(Int, [UInt32])]] = [:]
        for (i, g) in ngrams.enumerated() where !g.isEmpty && g.count <= maxOrder {
            var key: [UInt32] = []
            for t in g {
                guard let id = ids[t] else { break }
                key.append(id)
            }
            guard key.count == g.count else { continue } // a token the corpus never has: 0
            if g.count == 1 {
                let c = unigram[key[0]]!
                out[i] = (c.0, c.1)
            } else {
                byOrder[g.count, default: []].append((i, key))
            }
        }
        for (n, items) in byOrder {
            let cols = (1...n).map { "w\($0)" }
            try db.exec("DROP TABLE IF EXISTS temp.q_ngrams; CREATE TEMP TABLE q_ngrams(\(cols.map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")), PRIMARY KEY(\(cols.joined(separator: ", ")))) WITHOUT ROWID;")
            let insN = try db.prepare("INSERT OR IGNORE INTO temp.q_ngrams VALUES (\((1...n).map { "?\($0)" }.joined(separator: ", ")))")
            try db.exec("BEGIN")
            for (_, key) in items {
                for (k, id) in key.enumerated() { insN.bind(Int32(k + 1), Int64(id)) }
                try insN.run()
            }
            try db.exec("COMMIT")
            var found: [[UInt32]: (UInt64, UInt64)] = [:]
            let join = cols.map { "g.\($0) = q.\($0)" }.joined(separator: " AND ")
            let selN = try db.prepare("SELECT \(cols.map { "q.\($0)" }.joined(separator: ", ")), g.count, g.df FROM temp.q_ngrams q JOIN ngram\(n) g ON \(join)")
            while try selN.step() {
                let key = (0..<n).map { UInt32(selN.int(Int32($0))) }
                found[key] = (UInt64(selN.int(Int32(n))), UInt64(selN.int(Int32(n + 1))))
            }
            selN.reset(); insN.reset()
            try db.exec("DROP TABLE temp.q_ngrams")
            for (i, key) in items { if let c = found[key] { out[i] = (c.0, c.1) } }
        }
        return out
    }

    /// Schema version of the file (2 and up hold targeted-pass tables).
    public func schemaVersion() throws(StoreError) -> Int { try db.userVersion() }

    /// Counts of terms (tokens joined by single spaces) from the newest targeted run that counted them.
    public func targetedTermCounts() throws(StoreError) -> [String: (count: UInt64, df: UInt64)] {
        guard try schemaVersion() >= 2 else { return [:] }
        var out: [String: (count: UInt64, df: UInt64)] = [:]
        let st = try db.prepare("SELECT term, count, df FROM targeted_terms ORDER BY run ASC")
        while try st.step() { out[st.text(0)] = (UInt64(st.int(1)), UInt64(st.int(2))) }
        return out
    }

    /// Per-question co-occurrence (docs with a question term and the answer; window hits) by
    /// question signature, from the newest run with this window.
    public func cooccurQuestions(window: Int) throws(StoreError) -> [String: (docs: UInt64, window: UInt64)] {
        guard try schemaVersion() >= 2 else { return [:] }
        var out: [String: (docs: UInt64, window: UInt64)] = [:]
        let st = try db.prepare("""
            SELECT q.signature, q.docs, q.window_count FROM cooccur_questions q JOIN targeted_runs r ON r.id = q.run
            WHERE r.window = ?1 ORDER BY q.run ASC
            """)
        st.bind(1, Int64(window))
        while try st.step() { out[st.text(0)] = (UInt64(st.int(1)), UInt64(st.int(2))) }
        return out
    }
}

extension IndexReader {
    /// Per (question term, answer) pair: documents holding an alias of each, and window hits, keyed
    /// by the two `|`-joined alias lists separated by a tab, from the newest run with this window.
    public func cooccurPairs(window: Int) throws(StoreError) -> [String: (docs: UInt64, window: UInt64)] {
        guard try schemaVersion() >= 3 else { return [:] }
        var out: [String: (docs: UInt64, window: UInt64)] = [:]
        let st = try db.prepare("""
            SELECT p.qterm_aliases, p.answer_aliases, p.docs, p.window_count FROM cooccur_pairs p JOIN targeted_runs r ON r.id = p.run
            WHERE r.window = ?1 ORDER BY p.run ASC
            """)
        st.bind(1, Int64(window))
        while try st.step() { out[st.text(0) + "\t" + st.text(1)] = (UInt64(st.int(2)), UInt64(st.int(3))) }
        return out
    }
}

/// Adds one targeted run to an existing index in a single transaction (all or nothing),
/// upgrading a version-1 index's schema first. An earlier run with the same window, question
/// terms, eval and corpus files is replaced.
public final class TargetedWriter {
    let db: Database
    let run: Int64
    let termSt: Statement, pairSt: Statement, questionSt: Statement

    public init(path: String, window: Int, questionTerms: String, eval: String, corpus: String,
                createdAt: String) throws(StoreError) {
        db = try Database(path: path, readOnly: false)
        let version = try db.userVersion()
        guard version >= 1 else { throw StoreError("\(path) is not a tailscope index") }
        guard version <= Schema.version else { throw StoreError("\(path) has schema version \(version); this tailscope reads up to \(Schema.version)") }
        try db.exec("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE;")
        for m in Schema.migrations[version...] { try db.exec(m.sql) }
        try db.exec("PRAGMA user_version = \(Schema.version)")
        // A rerun with the same settings (window, question terms, eval and corpus files) replaces
        // the earlier run, in this transaction: the index holds one run per specification.
        let earlier = "SELECT id FROM targeted_runs WHERE window = ?1 AND question_terms = ?2 AND eval = ?3 AND corpus = ?4"
        for (table, key) in [("targeted_terms", "run"), ("cooccur_pairs", "run"), ("cooccur_questions", "run"), ("targeted_runs", "id")] {
            let del = try db.prepare("DELETE FROM \(table) WHERE \(key) IN (\(earlier))")
            del.bind(1, Int64(window)); del.bind(2, questionTerms); del.bind(3, eval); del.bind(4, corpus)
            try del.run()
        }
        let ins = try db.prepare("""
            INSERT INTO targeted_runs(window, question_terms, eval, corpus, docs, tokens, terms, pairs, questions, created_at)
            VALUES (?1, ?2, ?3, ?4, 0, 0, 0, 0, 0, ?5)
            """)
        ins.bind(1, Int64(window)); ins.bind(2, questionTerms); ins.bind(3, eval); ins.bind(4, corpus); ins.bind(5, createdAt)
        try ins.run()
        let last = try db.prepare("SELECT last_insert_rowid()")
        _ = try last.step()
        run = last.int(0)
        last.reset()
        termSt = try db.prepare("INSERT OR REPLACE INTO targeted_terms(run, term, n, count, df) VALUES (?1, ?2, ?3, ?4, ?5)")
        pairSt = try db.prepare("INSERT INTO cooccur_pairs(run, qterm, answer, qterm_aliases, answer_aliases, docs, window_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        questionSt = try db.prepare("INSERT OR REPLACE INTO cooccur_questions(run, signature, docs, window_count) VALUES (?1, ?2, ?3, ?4)")
    }

    // Rows are many (tens of thousands a run): their texts are bound in place, not copied.

    public func addTerm(_ term: String, n: Int, count: UInt64, df: UInt64) throws(StoreError) {
        termSt.bind(1, run); termSt.bind(3, Int64(n)); termSt.bind(4, count); termSt.bind(5, df)
        var term = term
        if let e = term.withUTF8({ t in termSt.bindInPlace(2, t); return termSt.runInPlace(unbinding: 2...2) }) { throw e }
    }

    /// One (question term, answer) pair, keyed by both alias lists (each `|`-separated, first
    /// spelling first); `question` and `answer` are the first spellings.
    public func addPair(question: String, answer: String, questionAliases: String, answerAliases: String,
                        docs: UInt64, window: UInt64) throws(StoreError) {
        pairSt.bind(1, run); pairSt.bind(6, docs); pairSt.bind(7, window)
        var q = question, a = answer, qa = questionAliases, aa = answerAliases
        let error = q.withUTF8 { qb in a.withUTF8 { ab in qa.withUTF8 { qab in aa.withUTF8 { aab in
            pairSt.bindInPlace(2, qb); pairSt.bindInPlace(3, ab); pairSt.bindInPlace(4, qab); pairSt.bindInPlace(5, aab)
            return pairSt.runInPlace(unbinding: 2...5)
        } } } }
        if let error { throw error }
    }

    public func addQuestion(signature: String, docs: UInt64, window: UInt64) throws(StoreError) {
        questionSt.bind(1, run); questionSt.bind(3, docs); questionSt.bind(4, window)
        var signature = signature
        if let e = signature.withUTF8({ t in questionSt.bindInPlace(2, t); return questionSt.runInPlace(unbinding: 2...2) }) { throw e }
    }

    /// Records the run's totals and commits.
    public func commit(docs: Int64, tokens: Int64, terms: Int, pairs: Int, questions: Int) throws(StoreError) {
        let up = try db.prepare("UPDATE targeted_runs SET docs = ?1, tokens = ?2, terms = ?3, pairs = ?4, questions = ?5 WHERE id = ?6")
        up.bind(1, docs); up.bind(2, tokens); up.bind(3, Int64(terms)); up.bind(4, Int64(pairs)); up.bind(5, Int64(questions)); up.bind(6, run)
        try up.run()
        try db.exec("COMMIT")
        db.close()
    }

    /// Rolls everything back: the index is as it was.
    public func abandon() {
        try? db.exec("ROLLBACK")
        db.close()
    }
}
