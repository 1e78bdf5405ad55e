import Foundation
import Testing
import CorpusIO
@testable import Evaluation
import Indexing
import IndexStore
import TestSupport

/// Issue 14: cooccur pairs keyed by what they count; CSV rows that are malformed are found,
/// located, and skippable without losing the rows after them.
@Suite struct SafetyTests {
    @Test func cooccurPairsWithTheSameFirstSpellingButOtherAliasesAreNotSummed() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = SplitMix(seed: 17)
        let words = ["last", "year", "2017", "seventeen", "x", "y", "come", "1992", "a", "b"]
        var docs: [[String]] = []
        for _ in 0..<300 { docs.append((0..<(1 + Int(rng.next() % 12))).map { _ in words[Int(rng.next() % UInt64(words.count))] }) }
        let index = try buildTestIndex(dir, docs: docs.map { $0.joined(separator: " ") }, orders: 2)
        let eval = dir + "/qa.jsonl"
        // Three questions share the question term "last" and the answer's first spelling "2017".
        TestSupport.write(eval, """
        {"question": "q1", "answer": ["2017"], "ents": ["last"]}
        {"question": "q2", "answer": ["2017", "seventeen"], "ents": ["last"]}
        {"question": "q3", "answer": ["2017", "x y"], "ents": ["last", "come"]}
        {"question": "q4", "answer": ["1992"], "ents": ["come"]}
        """)
        var o = CooccurOptions(index: index, evals: [eval], corpus: [dir + "/corpus.jsonl"])
        o.questionTerms = [.field("ents")]
        _ = try cooccur(o) { _ in }
        let (rc, out, err) = TestSupport.run("sqlite3", ["-separator", "\t", index,
            "SELECT qterm_aliases, answer_aliases, docs FROM cooccur_pairs ORDER BY 1, 2"])
        #expect(rc == 0, "\(err)")
        func has(_ doc: [String], _ phrase: [String]) -> Bool { !starts(doc, phrase).isEmpty }
        var expected: [String] = []
        for (q, a) in [("come", ["1992"]), ("come", ["2017", "x y"]), ("last", ["2017"]), ("last", ["2017", "seventeen"]), ("last", ["2017", "x y"])] {
            let n = docs.filter { d in has(d, [q]) && a.contains { has(d, $0.split(separator: " ").map(String.init)) } }.count
            expected.append("\(q)\t\(a.joined(separator: "|"))\t\(n)")
        }
        #expect(out.split(separator: "\n").map(String.init) == expected)
        // No pair holds more documents than its answer does.
        let df2017 = docs.filter { has($0, ["2017"]) }.count
        #expect(expected.allSatisfy { $0.hasPrefix("come\t1992") || Int($0.split(separator: "\t")[2])! <= df2017 + docs.filter { has($0, ["seventeen"]) || has($0, ["x", "y"]) }.count })
    }

    @Test func malformedCSVRecordsAreLocatedAndDoNotHideLaterRows() throws {
        let csv = """
        question,answer,correct
        "a, quoted",1,1
        b,2,0,extra
        c"d,3,1
        "e"f,4,1
        "multi
        line",5,1
        "never closed,6,1
        g,7,0

        """
        let t = try Array(csv.utf8).withUnsafeBytes { try parseCSV($0) }
        #expect(t.rows.map(\.line) == [2, 6, 9])
        #expect(t.rows.map { $0.fields[0] } == ["a, quoted", "multi\nline", "g"])
        #expect(t.errors.map(\.line) == [3, 4, 5, 8])
        #expect(t.errors[0].message.contains("4 fields"))
        #expect(t.errors[3].message.contains("never closed"))
        // A malformed header is an error of the file.
        #expect(throws: CSVError.self) { _ = try Array("a,\"b\nc\n".utf8).withUnsafeBytes { try parseCSV($0) } }
    }

    @Test func csvEvalRowsSkipLikeJSONLRows() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        TestSupport.write(dir + "/e.csv", "question,answer,correct\nq1,a,1\nq2,b,0,9\n\"q3,c,1\nq4,d,0\n")
        var f = EvalFields(); f.needCorrect = true
        #expect(throws: EvalError.self) { _ = try readEvalFiles([dir + "/e.csv"], fields: f, onError: .stop) }
        let (rows, rep) = try readEvalFiles([dir + "/e.csv"], fields: f, onError: .skip)
        #expect(rows.map(\.question) == ["q1", "q4"])
        #expect(rep.skipped[.invalidCSV] == 2)
    }
}
