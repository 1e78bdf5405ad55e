import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

@Suite struct CorrelateCLITests {
    func ts(_ args: String...) -> (Int32, String, String) { TestSupport.run(CLITests.binary, args) }

    @Test func correlateAndCooccurEndToEnd() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var corpus = ""
        for i in 0..<300 { corpus += "{\"text\": \"\(String(repeating: "24 apples ", count: 1 + i % 5)) paris is in france \(i) \(i % 7) x\"}\n" }
        TestSupport.write("\(d)/c.jsonl", corpus)
        #expect(ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1-2").0 == 0)
        var eval = ""
        for i in 0..<200 { eval += "{\"id\": \"q\(i)\", \"question\": \"What is \(i) times \(i % 7) in paris?\", \"answer\": \"france\", \"correct\": \(i % 3 == 0), \"model\": \"m\(i % 2)\"}\n" }
        TestSupport.write("\(d)/e.jsonl", eval + "{\"question\": broken\n")
        // A malformed row stops with the file and line, exit 65; --on-error skip counts it.
        let (rc, _, err) = ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "numbers")
        #expect(rc == 65 && err.contains("e.jsonl:201"), "\(err)")
        let (rc2, out, err2) = ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "numbers",
                                  "--group-by", "model", "--on-error", "skip", "--bootstrap", "100",
                                  "--json", "\(d)/r.json", "--csv", "\(d)/q.csv", "--plot", "\(d)/p.svg")
        #expect(rc2 == 0, "\(err2)")
        #expect(out.contains("Skipped rows: 1 invalid_json") && out.contains("spearman"))
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(d)/r.json"))) as! [String: Any]
        let groups = j["groups"] as! [[String: Any]]
        #expect(groups.count == 2 && groups.map { $0["n"] as! Int }.reduce(0, +) == 200)
        let csv = try String(contentsOfFile: "\(d)/q.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 201)
        // The plot is well-formed SVG.
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: "\(d)/p.svg")))
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        // qa-cooccurrence needs a cooccur run first: a clear error, then it works.
        let (rc3, _, err3) = ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--on-error", "skip", "--terms", "qa-cooccurrence")
        #expect(rc3 == 65 && err3.contains("tailscope cooccur"))
        let (rc4, out4, err4) = ts("cooccur", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--on-error", "skip",
                                   "--corpus", "\(d)/c.jsonl", "--question-terms", "content", "--json")
        #expect(rc4 == 0, "\(err4)")
        let c = try JSONSerialization.jsonObject(with: Data(out4.utf8)) as! [String: Any]
        #expect(c["docs"] as? Int == 300 && c["questions"] as? Int == 200)
        let (rc5, out5, err5) = ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--on-error", "skip",
                                   "--terms", "qa-cooccurrence", "--measure", "df", "--json", "-")
        #expect(rc5 == 0, "\(err5)")
        let r5 = try JSONSerialization.jsonObject(with: Data(out5.utf8)) as! [String: Any]
        #expect(r5["questions_without_terms"] as? Int == 0)
        // Usage errors exit 64.
        #expect(ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--bins", "zero").0 == 64)
        #expect(ts("correlate", "--index", "\(d)/i.sqlite").0 == 64)
        #expect(ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/absent.jsonl").0 == 66)
    }
}
