import Testing
import TestSupport
import Counting
@testable import IndexStore

@Suite struct IndexStoreTests {
    /// An index of orders 1 with an empty vocabulary: what a targeted run is added to.
    func emptyIndex(_ path: String) throws {
        let w = try IndexWriter(path: path, maxOrder: 1)
        try w.setMeta([("max_order", "1")])
        try w.writeVocabulary(Vocabulary())
        try w.commit()
    }

    @Test func anAbandonedBuildLeavesNoFileAtTheDestination() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        do {
            let w = try IndexWriter(path: "\(d)/i.sqlite", maxOrder: 2)
            try w.setMeta([("docs", "1")])
            #expect(fileExists("\(d)/i.sqlite.tailscope-tmp-\(getpid())"))
            // Dropped without commit(), as when a build fails or is interrupted.
        }
        #expect(!fileExists("\(d)/i.sqlite"))
        #expect(!fileExists("\(d)/i.sqlite.tailscope-tmp-\(getpid())"))
    }

    @Test func aRerunWithTheSameSettingsReplacesItsTargetedRun() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        try emptyIndex("\(d)/i.sqlite")
        func store(window: Int, eval: String, docs: UInt64, abandon: Bool = false) throws {
            let t = try TargetedWriter(path: "\(d)/i.sqlite", window: window, questionTerms: "content", eval: eval,
                                       corpus: "c.jsonl", createdAt: "now")
            try t.addTerm("paris", n: 1, count: docs * 2, df: docs)
            try t.addPair(question: "capital", answer: "paris", questionAliases: "capital", answerAliases: "paris", docs: docs, window: 1)
            try t.addQuestion(signature: "q1", docs: docs, window: 1)
            if abandon { t.abandon() } else { try t.commit(docs: 10, tokens: 100, terms: 1, pairs: 1, questions: 1) }
        }
        func rows(_ table: String) throws -> Int64 {
            let db = try Database(path: "\(d)/i.sqlite", readOnly: true)
            defer { db.close() }
            let st = try db.prepare("SELECT count(*) FROM \(table)")
            _ = try st.step()
            return st.int(0)
        }
        try store(window: 5, eval: "qa.jsonl", docs: 3)
        try store(window: 5, eval: "qa.jsonl", docs: 4)
        // The rerun replaced the first run: one run, and its counts.
        for t in ["targeted_runs", "targeted_terms", "cooccur_pairs", "cooccur_questions"] { #expect(try rows(t) == 1) }
        let r = try IndexReader(path: "\(d)/i.sqlite")
        #expect(try r.cooccurQuestions(window: 5)["q1"]?.docs == 4)
        #expect(try r.targetedTermCounts()["paris"]?.df == 4)
        // Another window or another eval file is another run; an abandoned rerun keeps the old one.
        try store(window: 3, eval: "qa.jsonl", docs: 5)
        try store(window: 5, eval: "other.jsonl", docs: 6)
        try store(window: 5, eval: "qa.jsonl", docs: 7, abandon: true)
        #expect(try rows("targeted_runs") == 3)
        #expect(try rows("cooccur_pairs") == 3)
        #expect(try IndexReader(path: "\(d)/i.sqlite").cooccurQuestions(window: 3)["q1"]?.docs == 5)
    }

    /// Targeted rows bind their texts in place: short (held in the string itself) and long, not
    /// ASCII, empty, and cut at a NUL as a C string would be, every row its own texts.
    @Test func targetedTextsBoundInPlaceReadBackAsWritten() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        try emptyIndex("\(d)/i.sqlite")
        let texts = ["a", "a question term longer than fifteen bytes", "é多😀", "", "x\u{0}y", String(repeating: "z", count: 300)]
        func stored(_ s: String) -> String { String(s.prefix { $0 != "\u{0}" }) }
        let t = try TargetedWriter(path: "\(d)/i.sqlite", window: 5, questionTerms: "content", eval: "e", corpus: "c", createdAt: "now")
        for (i, x) in texts.enumerated() {
            let y = texts[(i + 1) % texts.count]
            try t.addTerm(x + "\(i)", n: 1, count: UInt64(i), df: UInt64(i))
            try t.addPair(question: x, answer: y, questionAliases: x + "|\(i)", answerAliases: y + "\t\(i)", docs: UInt64(i), window: 0)
            try t.addQuestion(signature: y + "\(i)", docs: UInt64(i), window: 0)
        }
        try t.commit(docs: 1, tokens: 1, terms: texts.count, pairs: texts.count, questions: texts.count)
        let db = try Database(path: "\(d)/i.sqlite", readOnly: true)
        defer { db.close() }
        // Each text with its length in bytes as stored (a NUL kept would be counted).
        let columns = ["p.qterm", "p.answer", "p.qterm_aliases", "p.answer_aliases", "t.term", "q.signature"]
        let st = try db.prepare("SELECT p.docs, " + columns.map { "\($0), length(CAST(\($0) AS BLOB))" }.joined(separator: ", ")
                                + " FROM cooccur_pairs p JOIN targeted_terms t ON t.df = p.docs JOIN cooccur_questions q ON q.docs = p.docs ORDER BY p.docs")
        var seen = 0
        while try st.step() {
            let i = Int(st.int(0)), x = texts[i], y = texts[(i + 1) % texts.count]
            let want = [x, y, x + "|\(i)", y + "\t\(i)", x + "\(i)", y + "\(i)"].map(stored)
            for (k, w) in want.enumerated() {
                #expect(st.text(Int32(1 + 2 * k)) == w && st.int(Int32(2 + 2 * k)) == Int64(w.utf8.count), "\(columns[k]) of row \(i)")
            }
            seen += 1
        }
        #expect(seen == texts.count)
    }

    @Test func readersRefuseUnfinishedAndForeignFiles() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        // An index whose `complete` flag was never set (a copy of a half-written temp file).
        let db = try Database(path: "\(d)/half.sqlite", readOnly: false)
        for m in Schema.migrations { try db.exec(m.sql) }
        try db.exec("PRAGMA user_version = 1")
        #expect(throws: StoreError.self) { _ = try IndexReader(path: "\(d)/half.sqlite") }
        let other = try Database(path: "\(d)/other.sqlite", readOnly: false)
        try other.exec("CREATE TABLE t(x)")
        #expect(throws: StoreError.self) { _ = try IndexReader(path: "\(d)/other.sqlite") }
        try db.exec("PRAGMA user_version = 99")
        do { _ = try IndexReader(path: "\(d)/half.sqlite"); Issue.record("no error") } catch {
            #expect(error.description.contains("schema version 99"))
        }
    }

    @Test func writtenRowsReadBackWithViewsAndTopList() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let v = Vocabulary()
        for (i, t) in ["a", "b", "c"].enumerated() {
            let id = t.withCString { v.intern(UnsafeRawBufferPointer(start: $0, count: 1)) }
            v.addCounted(id, count: UInt64(3 - i), df: 1)
        }
        let w = try IndexWriter(path: "\(d)/i.sqlite", maxOrder: 2)
        try w.setMeta([("max_order", "2"), ("min_count", "1")])
        try w.writeVocabulary(v)
        let sink = try w.ngramSink(order: 2)
        var rows: [[UInt32]] = []
        for a in 0..<3 { for b in 0..<3 { rows.append([UInt32(a), UInt32(b)]) } }
        for (i, r) in rows.enumerated() { try r.withUnsafeBufferPointer { try sink.row($0.baseAddress!, count: UInt64(i + 1), df: 1) } }
        try sink.finish()
        var s = OrderSummary(order: 2)
        s.types = 9
        s.countOfCounts = Dictionary(uniqueKeysWithValues: (1...9).map { (UInt64($0), UInt64(1)) })
        s.top = [([2, 2], 9, 1), ([2, 1], 8, 1)]
        try w.writeSummary(s) { v.string($0) }
        try w.commit()
        let r = try IndexReader(path: "\(d)/i.sqlite")
        #expect(try r.counts(ids: [1, 2]) == (6, 1))
        #expect(try r.counts(ids: [0]) == (3, 1))
        #expect(try r.tokenId("c") == 2)
        #expect(try r.tokenId("zz") == nil)
        #expect(try r.top(order: 2, limit: 2, bottom: false).map(\.ngram) == ["c c", "c b"])
        #expect(try r.top(order: 2, limit: 2, bottom: true).map(\.ngram) == ["a a", "a b"])
        #expect(try r.top(order: 1, limit: 1, bottom: true).map(\.ngram) == ["c"])
    }

    /// The top unigrams sort only counts at or above the cutoff: the same rows as sorting all.
    @Test func topUnigramsEqualAFullSort() {
        var rng = SplitMix(seed: 9)
        for n in [0, 5, storedTopK, 3 * storedTopK + 7] {
            // Few distinct counts, so the cutoff falls inside a run of ties; some zeros.
            let counts = (0..<n).map { _ in rng.next() % 40 }
            let dfs = counts.map { $0 / 2 }
            var cc: [UInt64: UInt64] = [:]
            for c in counts where c > 0 { cc[c, default: 0] += 1 }
            let got = IndexWriter.topUnigrams(counts: counts, dfs: dfs, countOfCounts: cc)
            let want = counts.indices.filter { counts[$0] > 0 }
                .sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
                .prefix(storedTopK)
            #expect(got.map { $0.ids[0] } == want.map { UInt32($0) })
            #expect(got.map(\.count) == want.map { counts[$0] })
            #expect(got.map(\.df) == want.map { dfs[$0] })
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CorpusIO

@Suite struct IndexMetadataTests {
    /// The typed metadata reads what the writer recorded; the schema version is the file's
    /// user_version and equals `meta.schema_version` and the number of migrations.
    @Test func typedMetadataMatchesTheMetaTable() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = try buildTestIndex(dir, docs: ["a b c", "b c d", "c d e f"], orders: 2)
        let r = try IndexReader(path: path)
        let m = try r.metadata
        #expect(m.docs == 3 && m.tokens == 10 && m.maxOrder == 2 && m.minCount == 1 && m.caseFold)
        #expect(m.countsExact && m.complete && m.tool == "tailscope" && !m.createdAt.isEmpty)
        #expect(m.schemaVersion == IndexWriter.schemaVersion && Int(r.meta["schema_version"] ?? "") == m.schemaVersion)
        #expect(m.tokenizer == r.meta["tokenizer"] && m.mergedFrom.isEmpty)
    }
}
