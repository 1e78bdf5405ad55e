import Foundation
import Testing
import TestSupport

@Suite struct ReportCLITests {
    func ts(_ args: String...) -> (Int32, String, String) { TestSupport.run(CLITests.binary, args) }

    @Test func reportEndToEnd() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var corpus = ""
        for i in 0..<200 { corpus += "{\"text\": \"the mill by the river \(i % 13) \(i % 50) boats\"}\n" }
        TestSupport.write("\(d)/c.jsonl", corpus)
        #expect(ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1-2").0 == 0)
        var eval = ""
        for i in 0..<100 { eval += "{\"question\": \"How many boats pass mill \(i)?\", \"answer\": \"\(i % 3)\", \"correct\": \(i % 2 == 0)}\n" }
        TestSupport.write("\(d)/e.jsonl", eval + "{\"question\": \"no correctness here\"}\n")
        // A row without correctness among rows with it is fine for report (no accuracy for that set),
        // a malformed row is not: file and line, exit 65; a missing index: exit 66.
        TestSupport.write("\(d)/bad.jsonl", eval + "{\"question\": broken\n")
        let (rc, _, err) = ts("report", "--index", "\(d)/i.sqlite", "--eval", "\(d)/bad.jsonl", "-o", "\(d)/r0")
        #expect(rc == 65 && err.contains("bad.jsonl:101"), "\(err)")
        #expect(!FileManager.default.fileExists(atPath: "\(d)/r0/index.html"))
        #expect(ts("report", "--index", "\(d)/missing.sqlite", "--eval", "\(d)/e.jsonl", "-o", "\(d)/r0").0 != 0)
        #expect(ts("report", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "-o", "\(d)/r0", "--thresholds", "100,10").0 == 64)
        let (rc2, out, err2) = ts("report", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "numbers",
                                  "--corpus", "\(d)/c.jsonl", "-o", "\(d)/r1")
        #expect(rc2 == 0, "\(err2)")
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "\(d)/r1/index.html")
        for f in ["index.html", "report.md", "report.json", "rank_frequency.svg"] {
            #expect(FileManager.default.fileExists(atPath: "\(d)/r1/\(f)"), "\(f)")
        }
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(d)/r1/report.json"))) as! [String: Any]
        let sets = j["sets"] as! [[String: Any]]
        #expect(sets.count == 1 && (sets[0]["questions"] as! Int) == 101)
        #expect(sets[0]["statistics"] is NSNull)   // one row lacks correctness
        #expect(j["contamination"] is [String: Any])
    }
}
