import Testing
import TestSupport
import Counting
@testable import IndexStore

@Suite struct IndexStoreTests {
    @Test func anAbandonedBuildLeavesNoFileAtTheDestination() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        do {
            let w = try IndexWriter(path: "\(d)/i.sqlite", maxOrder: 2)
            try w.setMeta([("docs", "1")])
            #expect(fileExists("\(d)/i.sqlite.tmp-\(getpid())"))
            // Dropped without commit(), as when a build fails or is interrupted.
        }
        #expect(!fileExists("\(d)/i.sqlite"))
        #expect(!fileExists("\(d)/i.sqlite.tmp-\(getpid())"))
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
}

#if canImport(Glibc)
import Glibc
#endif
import CorpusIO
