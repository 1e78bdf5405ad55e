import Testing
import TestSupport
@testable import CorpusIO

private func extract(_ line: String, _ field: String = "text") throws -> String? {
    var x = JSONFieldExtractor(fieldPath: field)
    var s = line
    return try s.withUTF8 { b -> String? in
        switch try x.extract(UnsafeRawBufferPointer(b)) {
        case .text(let t): return String(decoding: t, as: UTF8.self)
        case .missing: return nil
        case .notString(let w): return "<\(w)>"
        }
    }
}

@Suite struct JSONLTests {
    @Test func escapesAreDecodedLikeJsonLoads() throws {
        #expect(try extract(#"{"text": "a\"b\\c\/d\ne\tf\u00e9\ud83d\ude00"}"#) == "a\"b\\c/d\ne\tfé😀")
        #expect(try extract(#"{"id": 1, "text": "plain"}"#) == "plain")
    }

    @Test func quotesAndBackslashesAtEveryOffsetAroundTheWordScan() throws {
        // The string scan looks sixteen, then eight bytes at a time; put escapes at every
        // position of a block, densely and sparsely (runs of plain bytes up to ~100 long).
        let alphabet: [Character] = ["a", "b", "\"", "\\", "\n", "é", " ", "/"]
        var rng = SplitMix(seed: 3)
        func escaped(_ s: String) -> String {
            s.map { c -> String in c == "\"" ? "\\\"" : c == "\\" ? "\\\\" : c == "\n" ? "\\n" : String(c) }.joined()
        }
        for k in 0..<1000 {
            let plain = k % 2 == 0 ? 0 : 30  // odds, out of 32, that a character is a plain "a"
            func char() -> Character { rng.next() % 32 < UInt64(plain) ? "a" : alphabet[Int(rng.next() % 8)] }
            let text = String((0..<Int(rng.next() % 100)).map { _ in char() })
            let decoy = String((0..<Int(rng.next() % 40)).map { _ in char() })
            #expect(try extract("{\"id\": \"\(escaped(decoy))\", \"text\": \"\(escaped(text))\"}") == text)
        }
    }

    @Test func loneSurrogateEscapesBecomeReplacementCharacters() throws {
        var x = JSONFieldExtractor(fieldPath: "text")
        var s = #"{"text": "a\ud800b"}"#
        let out = try s.withUTF8 { b -> String in
            guard case .text(let t) = try x.extract(UnsafeRawBufferPointer(b)) else { return "" }
            return String(decoding: t, as: UTF8.self)
        }
        #expect(out == "a\u{FFFD}b")
        #expect(x.loneSurrogates == 1)
    }

    @Test func dottedPathsReachNestedFieldsAndLastDuplicateWins() throws {
        #expect(try extract(#"{"meta": {"body": "deep", "x": [1, {"body": "no"}]}, "body": "top"}"#, "meta.body") == "deep")
        #expect(try extract(#"{"text": "first", "text": "second"}"#) == "second")
        #expect(try extract(#"{"te\u0078t": "escaped key"}"#) == "escaped key")
    }

    @Test func missingNullAndNonStringFieldsAreDistinguished() throws {
        #expect(try extract(#"{"title": "x"}"#) == nil)
        #expect(try extract(#"{"text": null}"#) == nil)
        #expect(try extract(#"{"text": 12}"#) == "<is a number, not a string>")
        #expect(try extract(#"{"text": ["a"]}"#) == "<is an array, not a string>")
        #expect(try extract(#"{"meta": 3}"#, "meta.body") == "<cannot be reached: \"meta\" is a number, not an object>")
        // A string where an object is needed is named as a string (it was called a number).
        #expect(try extract(#"{"meta": "a string"}"#, "meta.body") == "<cannot be reached: \"meta\" is a string, not an object>")
        #expect(try extract(#"{"a": {"b": "x"}}"#, "a.b.c") == "<cannot be reached: \"a.b\" is a string, not an object>")
    }

    @Test(arguments: [
        #"{"text": "unterminated}"#, #"{"text": "x""#, #"not json"#, #"{"text": "x"} trailing"#,
        #"{"text" "x"}"#, #"{"text": "bad \q escape"}"#, #"{"text": tru}"#, #"[1, 2]"#, #"{"a": 01}"#,
    ])
    func malformedLinesThrow(_ line: String) {
        #expect(throws: JSONFieldExtractor.Failure.self) { _ = try extract(line) }
    }

    @Test func badLinesStopWithLineNumberOrAreSkippedAndCountedByKind() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.jsonl", """
        {"text": "good one"}
        {"text": broken
        {"title": "no text"}

        {"text": 5}
        {"text": "good two"}
        """)
        do {
            let r = try DocumentReader(path: "\(d)/a.jsonl", format: .jsonl(field: "text"), policy: .stop)
            try r.forEachDocument { _ in }
            Issue.record("no error")
        } catch {
            #expect(error.kind == .invalidJSON)
            #expect(error.line == 2)
            #expect(error.description.contains("a.jsonl:2"))
        }
        let r = try DocumentReader(path: "\(d)/a.jsonl", format: .jsonl(field: "text"), policy: .skip)
        var docs: [String] = []
        try r.forEachDocument { docs.append(String(decoding: $0, as: UTF8.self)) }
        #expect(docs == ["good one", "good two"])
        #expect(r.counters.skipped == [.invalidJSON: 1, .missingField: 1, .fieldNotString: 1])
        #expect(r.counters.blankLines == 1)
    }

    @Test func aByteOrderMarkBeforeTheFirstLineIsIgnored() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/bom.jsonl", bytes: [0xEF, 0xBB, 0xBF] + Array("{\"text\": \"first\"}\n{\"text\": \"second\"}\n".utf8))
        let r = try DocumentReader(path: "\(d)/bom.jsonl", format: .jsonl(field: "text"), policy: .stop)
        var docs: [String] = []
        try r.forEachDocument { docs.append(String(decoding: $0, as: UTF8.self)) }
        #expect(docs == ["first", "second"])
    }

    @Test func realJSONLAgreesAcrossContainers() throws {
        guard let zst = TestSupport.fortunes("jsonl.zst"), let gz = TestSupport.fortunes("jsonl.gz") else { return }
        func docs(_ p: String) throws -> [String] {
            let r = try DocumentReader(path: p, format: .jsonl(field: "text"), policy: .stop)
            var out: [String] = []
            try r.forEachDocument { out.append(String(decoding: $0, as: UTF8.self)) }
            return out
        }
        let a = try docs(zst)
        #expect(a.count > 10_000)
        #expect(try docs(gz) == a)
    }
}
