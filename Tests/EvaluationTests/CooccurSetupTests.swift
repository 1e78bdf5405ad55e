import Foundation
import Testing
import Support
import Tokenization
@testable import Evaluation
import TestSupport

/// The setup of `cooccur` (reading the eval file, terms, the pass's tables, the report's top
/// pairs) against plain definitions of the same results.
@Suite struct CooccurSetupTests {
    /// The word table that finds pairs against a dictionary: the same answers through growth,
    /// for keys that share either half and keys that differ in one bit.
    @Test func wordTableAnswersAsADictionary() {
        var table = WordTable(), dict: [UInt64: Int32] = [:]
        var x: UInt64 = 0x1234_5678_9ABC_DEF1
        for n in 0..<60_000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let key: UInt64
            switch n % 3 {
            case 0: key = UInt64(n % 97) << 32 | (x >> 40)
            case 1: key = (x >> 40) << 32 | UInt64(n % 89)
            default: key = 1 << UInt64(n % 64)
            }
            let v = Int32(n)
            if n % 2 == 0 {
                #expect(table.value(key, else: v) == (dict[key] ?? v))
                if dict[key] == nil { dict[key] = v }
            } else {
                table[key] = v; dict[key] = v
            }
            if n % 1000 == 0 { #expect(table[key ^ 0x8000_0000] == dict[key ^ 0x8000_0000]) }
        }
        for (k, v) in dict { #expect(table[k] == v) }
        #expect(table[0x7777_7777_7777] == dict[0x7777_7777_7777])
    }

    /// The top pairs are those of a stable sort by documents, window hits and names (descending,
    /// descending, ascending), on data with many ties.
    @Test func topPairsAreThoseOfAFullSort() {
        var rng = SplitMix(seed: 11)
        for n in [0, 1, 5, 10, 11, 300] {
            for limit in [0, 1, 3, 10] {
                let docs = (0..<n).map { _ in rng.next() % 4 }
                let window = (0..<n).map { _ in rng.next() % 3 }
                let names = (0..<n).map { _ in (["a", "b", "é"][Int(rng.next() % 3)], ["x", "y"][Int(rng.next() % 2)]) }
                let sorted = (0..<n).sorted { i, j in
                    if docs[i] != docs[j] { return docs[i] > docs[j] }
                    if window[i] != window[j] { return window[i] > window[j] }
                    if (names[i].0, names[i].1) != (names[j].0, names[j].1) { return (names[i].0, names[i].1) < (names[j].0, names[j].1) }
                    return i < j
                }
                #expect(topPairs(docs: docs, window: window, names: names, limit: limit) == Array(sorted.prefix(limit)), "n \(n) limit \(limit)")
            }
        }
    }

    /// The signature from alias texts equals its definition on terms (each alias's tokens joined
    /// by spaces, a term's aliases sorted and joined by `|`, the terms sorted and joined by tabs).
    @Test func signaturesEqualTheirDefinition() {
        func plain(_ q: [Term], _ a: Term) -> String {
            let qs = q.map { $0.aliases.map { $0.joined(separator: " ") }.sorted().joined(separator: "|") }.sorted()
            return qs.joined(separator: "\t") + "\u{1}" + a.aliases.map { $0.joined(separator: " ") }.sorted().joined(separator: "|")
        }
        var rng = SplitMix(seed: 3)
        let words = ["new", "york", "1,000", "é", "b", "a"]
        func term() -> Term {
            let aliases = (0..<(1 + Int(rng.next() % 3))).map { _ in (0..<(1 + Int(rng.next() % 3))).map { _ in words[Int(rng.next() % 6)] } }
            return Term(text: aliases[0].joined(separator: " "), aliases: aliases)
        }
        for _ in 0..<500 {
            let q = (0..<Int(rng.next() % 4)).map { _ in term() }
            let a = term()
            #expect(qaSignature(questionTerms: q, answer: a) == plain(q, a))
        }
    }

    /// Strings without escapes are read from the line's bytes; with escapes, or invalid UTF-8,
    /// they read as before.
    @Test func jsonStringsWithAndWithoutEscapes() throws {
        #expect(try JSONValue.parse(#"["abc", "", "a\"b", "x\\", "caf\u00e9 é"]"#) == .array([.string("abc"), .string(""), .string("a\"b"), .string("x\\"), .string("café é")]))
        let raw: [UInt8] = Array(#"{"k": "a"#.utf8) + [0xFF] + Array(#"b", "k2": "c\n"#.utf8) + [0xC3] + Array(#""}"#.utf8)
        let v = try raw.withUnsafeBytes { try JSONValue.parse($0) }
        #expect(v.at(path: "k")?.scalarText == "a\u{FFFD}b")
        #expect(v.at(path: "k2")?.scalarText == "c\n\u{FFFD}")
        for bad in [#""abc"#, #"["a\"]"#, #"{"a\": 1}"#] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }

    /// A file not named `samples_*` is lm-eval samples when its first object has `doc` and
    /// `doc_id`, though earlier lines do not parse or hold no object; else plain JSON Lines.
    @Test func lmEvalSamplesAreRecognisedByTheirFirstObject() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let p = dir + "/results.jsonl"
        TestSupport.write(p, """
        not json
        7
        {"doc_id": 0, "doc": {"question": "What is 12 plus 30?"}, "target": "42", "exact_match": 1.0}
        """)
        var f = EvalFields()
        f.needAnswer = true
        let (rows, rep) = try readEvalFiles([p], fields: f, onError: .skip)
        #expect(rep.files[0].format == .lmEvalSamples)
        #expect(rows.map(\.question) == ["What is 12 plus 30?"] && rows.map(\.answers) == [["42"]])
        #expect(rep.skipped == [.invalidJSON: 2])
        let q = dir + "/plain.jsonl"
        TestSupport.write(q, """
        "a string"
        {"question": "Q1", "answer": "A1", "correct": 1}
        {"question": "Q2", "answer": "A2", "doc": {}, "doc_id": 3, "correct": 0}
        """)
        let (plainRows, plainRep) = try readEvalFiles([q], fields: f, onError: .skip)
        #expect(plainRep.files[0].format == .jsonl && plainRep.files[0].rows == 2)
        #expect(plainRows.map(\.question) == ["Q1", "Q2"] && plainRows.map(\.line) == [2, 3])
        #expect(plainRep.skipped == [.invalidJSON: 1])
    }

    /// `tokens(of:)` reuses one buffer: a long text, then short ones, then a long one again.
    @Test func tokensOfReuseTheirBuffer() {
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let long = (0..<2000).map { "Word\($0)" }.joined(separator: " ")
        #expect(tok.tokens(of: long) == (0..<2000).map { "word\($0)" })
        #expect(tok.tokens(of: "New York!") == ["new", "york"])
        #expect(tok.tokens(of: "") == [])
        #expect(tok.tokens(of: long + " END") == (0..<2000).map { "word\($0)" } + ["end"])
    }

    /// The pass's compressed rows built from (row, value) entries equal those built from arrays.
    @Test func compressedRowsFromEntriesEqualThoseFromArrays() {
        var rng = SplitMix(seed: 9)
        for rows in [0, 1, 7, 100] {
            var arrays = [[Int32]](repeating: [], count: rows)
            var entries: [(row: Int32, value: Int32)] = []
            for _ in 0..<(rows * 3) {
                let r = Int32(rng.next() % UInt64(rows)), v = Int32(truncatingIfNeeded: rng.next())
                arrays[Int(r)].append(v); entries.append((r, v))
            }
            let a = CSR(arrays), b = CSR(rows: rows, entries: entries)
            defer { a.deallocate(); b.deallocate() }
            for i in 0..<rows { #expect(Array(a.list[a.bounds(i)]) == Array(b.list[b.bounds(i)])) }
        }
    }
}
