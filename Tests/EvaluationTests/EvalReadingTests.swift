import Foundation
import Testing
import Support
import CorpusIO
import Tokenization
import Statistics
@testable import Evaluation
import TestSupport

@Suite struct JSONAndCSVTests {
    @Test func parsesJSON() throws {
        let v = try JSONValue.parse(#"{"a": {"b": [1, 2.5e1, "x\n\u00e9\ud83d\ude00"]}, "t": true, "n": null, "s": "q\"\\/"}"#)
        guard case .array(let items)? = v.at(path: "a.b") else { Issue.record("no a.b"); return }
        #expect(items.count == 3)
        #expect(items[1] == .number(25, text: "2.5e1"))
        #expect(items[2].scalarText == "x\né😀")
        #expect(v.at(path: "t") == .bool(true))
        #expect(v.at(path: "n") == .null)
        #expect(v.at(path: "s")?.scalarText == "q\"\\/")
        #expect(v.at(path: "a.c") == nil)
        // A lone surrogate becomes U+FFFD rather than failing.
        #expect(try JSONValue.parse(#""\ud800x""#).scalarText == "\u{FFFD}x")
        for bad in [#"{"a": }"#, #"{"a" 1}"#, "[1, 2", #""abc"#, "{} x", "tru", "-"] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }

    /// The lazy reader of JSON Lines objects against the parser, on random lines and their
    /// corruptions: it takes exactly the objects the parser takes, and every field (the last of
    /// repeated keys), dotted path and whole tree reads as the parser's.
    @Test func lazyObjectsReadAsTheParser() throws {
        var rng = Xoshiro256(seed: 17)
        func r(_ n: Int) -> Int { Int(rng.next(upperBound: UInt64(n))) }
        let keys = ["a", "b", "q", "question", "doc", "é", #"e\u0301"#, #"x\"y"#, ""]
        let strings = ["", "plain", "with space", #"esc \\ \" \/ \b\f\n\r\t"#, #"\u00e9\ud83d\ude00"#, #"\ud800x"#, #"\ud800\u0041"#,
                       #"\ud800\uZZ"#, #"bad \q"#, #"\u12"#, "long " + String(repeating: "text ", count: 9), #"tab\tq\"uote"#]
        let numbers = ["0", "-1", "2.5e1", "1e", "-", "1.2.3", "1e+5", "007", "-0.0", "3."]
        func value(_ depth: Int) -> String {
            switch r(depth > 3 ? 4 : 7) {
            case 0: return "\"" + strings[r(strings.count)] + "\""
            case 1: return numbers[r(numbers.count)]
            case 2: return ["true", "false", "null", "NaN", "tru", "nul"][r(6)]
            case 3: return "\"" + strings[r(2) + 1] + "\""
            case 4, 5: return "{" + (0..<r(4)).map { _ in "\"" + keys[r(keys.count)] + "\"" + [":", " : ", ":\t"][r(3)] + value(depth + 1) }.joined(separator: [",", ", "][r(2)]) + "}"
            default: return "[" + (0..<r(4)).map { _ in value(depth + 1) }.joined(separator: ",") + "]"
            }
        }
        /// Equal trees, numbers by their text (NaN is not equal to itself).
        func same(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
            switch (a, b) {
            case (nil, nil): return true
            case (.object(let x)?, .object(let y)?): return x.count == y.count && x.allSatisfy { same($0.value, y[$0.key]) }
            case (.array(let x)?, .array(let y)?): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
            case (.number(_, let s)?, .number(_, let t)?): return s == t
            default: return a == b
            }
        }
        var taken = 0, refused = 0
        for n in 0..<6000 {
            var line = Array(("  {" + (0..<r(6)).map { _ in "\"" + keys[r(keys.count)] + "\": " + value(1) }.joined(separator: ", ") + "} ").utf8)
            // Corruptions: a byte dropped, a byte put in, the end cut off, text after the object.
            switch n % 5 {
            case 1 where !line.isEmpty: line.remove(at: r(line.count))
            case 2: line.insert(Array(#"{}[],:"\x0 "#.utf8)[r(11)], at: r(line.count + 1))
            case 3: line = Array(line.prefix(r(line.count + 1)))
            case 4 where r(4) == 0: line += Array(["x", "{}", "1"][r(3)].utf8)
            default: break
            }
            try line.withUnsafeBytes { b in
                let full = try? JSONValue.parse(b)
                let lazy = LazyJSONObject(b)
                guard case .object(let o)? = full else {
                    #expect(lazy == nil, "\(String(decoding: line, as: UTF8.self))")
                    refused += 1
                    return
                }
                let l = try #require(lazy, "\(String(decoding: line, as: UTF8.self))")
                taken += 1
                #expect(same(l.tree, full))
                for k in keys.map({ try! JSONValue.parse("\"" + $0 + "\"").scalarText! }) + ["missing"] {
                    #expect(same(l.value(k), o[k]), "\(k) in \(String(decoding: line, as: UTF8.self))")
                    for sub in ["a", "b", "", "a.b"] {
                        #expect(same(l.at(path: k + "." + sub), full!.at(path: k + "." + sub)))
                    }
                }
            }
        }
        // Both kinds of line are many.
        #expect(taken > 1500 && refused > 1500)
    }

    @Test func parsesCSV() throws {
        let text = "id,question,correct\r\n1,\"What is 2,3?\",true\r\n2,\"He said \"\"hi\"\"\nthen left\",0\n\n3,plain,1"
        let t = try Array(text.utf8).withUnsafeBytes { try parseCSV($0) }
        #expect(t.header == ["id", "question", "correct"])
        #expect(t.rows.map(\.fields) == [["1", "What is 2,3?", "true"], ["2", "He said \"hi\"\nthen left", "0"], ["3", "plain", "1"]])
        #expect(t.rows.map(\.line) == [2, 3, 6])
        // Malformed records are reported with their line, not thrown (the caller stops or skips).
        let bad1 = try Array("a,b\n1,2,3\n".utf8).withUnsafeBytes { try parseCSV($0) }
        #expect(bad1.rows.isEmpty && bad1.errors.map(\.line) == [2])
        let bad2 = try Array("a,b\n\"1,2\n".utf8).withUnsafeBytes { try parseCSV($0) }
        #expect(bad2.rows.isEmpty && bad2.errors.map(\.line) == [2])
    }
}

@Suite struct EvalFileTests {
    func fields(_ group: [String] = []) -> EvalFields {
        var f = EvalFields()
        f.groupBy = group
        return f
    }

    @Test func readsJSONLWithAllCorrectnessForms() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let p = dir + "/r.jsonl"
        TestSupport.write(p, """
        {"question": "What is 24 times 18?", "answer": "432", "correct": true, "model": "a"}
        {"question": "q2", "answer": ["x", "y"], "correct": 0, "model": "a"}

        {"question": "q3", "answer": 7, "correct": 0.25, "model": "b"}
        {"question": "q4", "answer": "z", "correct": "False", "model": "b"}
        """)
        let (rows, rep) = try readEvalFiles([p], fields: fields(["model"]), onError: .stop)
        #expect(rows.map(\.correct) == [1, 0, 0.25, 0])
        #expect(rows.map(\.answers) == [["432"], ["x", "y"], ["7"], ["z"]])
        #expect(rows.map(\.group) == [["a"], ["a"], ["b"], ["b"]])
        #expect(rows.map(\.line) == [1, 2, 4, 5])
        #expect(rep.files.first?.format == .jsonl)
    }

    @Test func badRowsStopWithFileAndLineOrAreSkippedAndCounted() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let p = dir + "/bad.jsonl"
        TestSupport.write(p, """
        {"question": "ok", "correct": true}
        {"question": "broken", "correct": tru
        {"correct": true}
        {"question": "q", "correct": 3}
        {"question": "q", "correct": "maybe"}
        [1, 2]
        {"question": "ok2", "correct": false}
        """)
        do {
            _ = try readEvalFiles([p], fields: fields(), onError: .stop)
            Issue.record("no error")
        } catch let e as EvalError {
            #expect(e.kind == .invalidJSON && e.line == 2 && e.description.contains("bad.jsonl:2"))
        }
        let (rows, rep) = try readEvalFiles([p], fields: fields(), onError: .skip)
        #expect(rows.map(\.question) == ["ok", "ok2"])
        #expect(rep.skipped == [.invalidJSON: 2, .missingField: 1, .badValue: 2])
        // Missing group field and empty file.
        let q = dir + "/g.jsonl"
        TestSupport.write(q, #"{"question": "x", "correct": 1}"# + "\n")
        #expect(throws: EvalError.self) { try readEvalFiles([q], fields: fields(["model"]), onError: .stop) }
        let e = dir + "/empty.jsonl"
        TestSupport.write(e, "\n\n")
        do { _ = try readEvalFiles([e], fields: fields(), onError: .stop); Issue.record("no error") } catch let err as EvalError {
            #expect(err.kind == .emptyFile)
        }
        #expect(throws: EvalError.self) { try readEvalFiles([dir + "/absent.jsonl"], fields: fields(), onError: .stop) }
    }

    /// Large files are parsed and made into rows on several threads: the rows, the skip counts
    /// and the error that stops the run are those of one thread (bad lines far apart, so
    /// different threads find them).
    /// The pairing key and the file's base name, against their plain definitions, on random
    /// strings of ASCII (the fast path), white space and non-ASCII letters.
    @Test func questionKeysAndBaseNamesEqualTheirDefinitions() {
        func key(_ q: String) -> String {
            var out = String.UnicodeScalarView()
            var pending = false
            for c in q.lowercased().unicodeScalars {
                if c == " " || c == "\t" || c == "\n" || c == "\r" { pending = !out.isEmpty } else {
                    if pending { out.append(" "); pending = false }
                    out.append(c)
                }
            }
            return String(out)
        }
        var rng = SplitMix(seed: 5)
        let alphabet: [String] = ["a", "Z", "q", "M", "0", "?", " ", " ", "\t", "\n", "\r", "/", "É", "ß", "İ", "e\u{301}", "\u{0}", "\u{7F}"]
        for n in 0..<3000 {
            let asciiOnly = n % 2 == 0
            let pool = asciiOnly ? Array(alphabet.prefix(12)) : alphabet
            let s = (0..<Int(rng.next() % 24)).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }.joined()
            #expect(Array(normalizedQuestionKey(s).utf8) == Array(key(s).utf8), "\(Array(s.utf8))")
            #expect(Array(baseName(s).utf8) == Array((s.split(separator: "/").last.map(String.init) ?? s).utf8), "\(Array(s.utf8))")
        }
        #expect(normalizedQuestionKey("  What IS\t\tthe  Capital?\n") == "what is the capital?")
        #expect(baseName("/a/b/samples_x.jsonl") == "samples_x.jsonl" && baseName("a/b//") == "b" && baseName("//") == "//")
    }

    @Test func largeFilesReadOnThreadsAsLineByLine() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let p = dir + "/big.jsonl"
        var lines: [String] = []
        var want: [String] = []
        for i in 1...3000 {
            switch i {
            case 2900: lines.append(#"{"question": "b", "correct": tru"#)
            case 1500: lines.append(#"{"correct": true}"#)
            case 701: lines.append(#"{"question": "q", "correct": "maybe"}"#)
            case 2000: lines.append("")
            default: lines.append(#"{"question": "q\#(i)", "correct": \#(i % 2 == 0)}"#); want.append("q\(i)")
            }
        }
        TestSupport.write(p, lines.joined(separator: "\n") + "\n")
        do {
            _ = try readEvalFiles([p], fields: fields(), onError: .stop)
            Issue.record("no error")
        } catch let e as EvalError {
            // Lines that do not parse are found before rows are made (as one thread does).
            #expect(e.kind == .invalidJSON && e.line == 2900)
        }
        // Without it, the first bad row stops the run, though a later one is made first.
        let q = dir + "/rows.jsonl"
        TestSupport.write(q, lines.enumerated().map { $0.offset + 1 == 2900 ? "{}" : $0.element }.joined(separator: "\n") + "\n")
        do {
            _ = try readEvalFiles([q], fields: fields(), onError: .stop)
            Issue.record("no error")
        } catch let e as EvalError {
            #expect(e.kind == .badValue && e.line == 701)
        }
        let (rows, rep) = try readEvalFiles([p], fields: fields(), onError: .skip)
        #expect(rows.map(\.question) == want)
        #expect(rows.map(\.line) == (1...3000).filter { ![2900, 1500, 701, 2000].contains($0) })
        #expect(rep.skipped == [.invalidJSON: 1, .missingField: 1, .badValue: 1])
        #expect(parallelMap(1000, threads: 3, minimumPerThread: 10) { $0 * 2 } == (0..<1000).map { $0 * 2 })
        #expect(parallelMap(5, threads: 4, minimumPerThread: 1) { String($0) } == ["0", "1", "2", "3", "4"])
        #expect(parallelMap(0, threads: 4) { $0 }.isEmpty)
    }

    @Test func readsCSVAndCompressedFiles() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let p = dir + "/r.csv"
        TestSupport.write(p, "question,answer,correct,entities\n\"How many, exactly?\",12,1,\"[\"\"paris\"\", [\"\"usa\"\", \"\"united states\"\"]]\"\nsecond,4,false,[]\n")
        var f = fields()
        f.termFields = ["entities"]
        let (rows, _) = try readEvalFiles([p], fields: f, onError: .stop)
        #expect(rows.map(\.question) == ["How many, exactly?", "second"])
        #expect(rows.map(\.correct) == [1, 0])
        guard case .array(let ents)? = rows[0].termFields["entities"] else { Issue.record("entities"); return }
        #expect(ents.count == 2)
        TestSupport.zstd(p, p + ".zst")
        let (z, rep) = try readEvalFiles([p + ".zst"], fields: f, onError: .stop)
        #expect(z.count == 2 && rep.files[0].format == .csv)
    }

    @Test func recognisesLMEvalSamples() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let p = dir + "/samples_arith_2digit_2024-05-01T10-11-12.123456.jsonl"
        TestSupport.write(p, """
        {"doc_id": 0, "doc": {"question": "What is 12 plus 30?", "answer": "42"}, "target": "42", "filter": "none", "exact_match": 1.0}
        {"doc_id": 1, "doc": {"query": "Pick one", "choices": ["red", "blue"]}, "target": 1, "filter": "none", "acc": 0.0}
        """)
        var f = fields(["task", "filter"])
        f.needAnswer = true
        let (rows, rep) = try readEvalFiles([p], fields: f, onError: .stop)
        #expect(rep.files[0].format == .lmEvalSamples)
        #expect(rows.map(\.question) == ["What is 12 plus 30?", "Pick one"])
        #expect(rows.map(\.answers) == [["42"], ["blue"]])
        #expect(rows.map(\.correct) == [1, 0])
        #expect(rows.map(\.group) == [["arith_2digit", "none"], ["arith_2digit", "none"]])
        #expect(rows[1].id == "arith_2digit:1")
    }
}

@Suite struct TermTests {
    @Test func numbers() {
        #expect(Evaluation.numbers(in: "He paid $1,000.50 for 3 items. In 1982, 0.25 of 24x18 were 7.") ==
                ["1,000.50", "3", "1982", "0.25", "24", "18", "7"])
        #expect(Evaluation.numbers(in: "no digits here").isEmpty)
    }

    @Test func extractsTermsWithIndexTokenizer() {
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let row = EvalRow(file: "f", line: 1, id: "1", key: "1", question: "What is the capital of France, and of France?",
                          answers: ["Paris", "Paris, France"], correct: 1, group: [],
                          termFields: ["ents": .array([.string("France"), .array([.string("USA"), .string("United States")])])], extra: [:])
        let content = TermExtractor(specs: [.content], tokenizer: tok).terms(of: row)
        #expect(content.map(\.text) == ["capital", "france"])
        let ans = TermExtractor(specs: [.answer], tokenizer: tok).terms(of: row)
        #expect(ans.count == 1 && ans[0].aliases == [["paris"], ["paris", "france"]])
        let ents = TermExtractor(specs: [.field("ents")], tokenizer: tok).terms(of: row)
        #expect(ents.map(\.aliases) == [[["france"]], [["usa"], ["united", "states"]]])
        // Combined specs keep the first occurrence of a term only.
        let both = TermExtractor(specs: [.content, .field("ents")], tokenizer: tok).terms(of: row)
        #expect(both.count == 3)
        // Either way round, and again with the same extractor (its memo of content tokens filled).
        let reversed = TermExtractor(specs: [.field("ents"), .content], tokenizer: tok)
        for _ in 0..<2 { #expect(reversed.terms(of: row).map(\.text) == ["France", "USA", "capital"]) }
        let again = TermExtractor(specs: [.content, .field("ents")], tokenizer: tok)
        for _ in 0..<2 { #expect(again.terms(of: row).map(\.text) == ["capital", "france", "USA"]) }
    }

    /// Two spellings of a word that differ in their bytes but are equal as Swift strings (é as one
    /// code point and as e with a combining accent) are different tokens in the corpus: a row's
    /// terms are its own spelling's bytes, whichever spelling the extractor (one per thread) met
    /// first.
    @Test func termsKeepTheirSpellingsBytes() {
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        func row(_ q: String) -> EvalRow {
            EvalRow(file: "f", line: 1, id: "1", key: "1", question: q, answers: ["x"], correct: 1, group: [], termFields: [:], extra: [:])
        }
        let composed = row("the caf\u{E9} opens"), decomposed = row("a cafe\u{301} closes")
        #expect("caf\u{E9}" == "cafe\u{301}" && Array("caf\u{E9}".utf8) != Array("cafe\u{301}".utf8))
        func bytes(_ ts: [Term]) -> [[[UInt8]]] { ts.map { $0.aliases.map { Array($0.joined(separator: " ").utf8) } } }
        let shared = TermExtractor(specs: [.content], tokenizer: tok)
        _ = shared.terms(of: composed)
        let afterOther = bytes(shared.terms(of: decomposed))
        let fresh = bytes(TermExtractor(specs: [.content], tokenizer: tok).terms(of: decomposed))
        #expect(afterOther == fresh)
        #expect(fresh.first == [Array("cafe\u{301}".utf8)])
    }
}
