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

    /// Several models on the same questions from the CLI: --group-by model shows each question
    /// once and the models side by side, with the Scale section from the sizes in the names;
    /// `scaling` on the same file; sizes for a model that has none are an error naming it.
    @Test func modelsFromTheCommandLine() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var corpus = ""
        for i in 0..<300 { corpus += "{\"text\": \"the mill \(i % 7) \(i % 40) \(i % 97) boats\"}\n" }
        TestSupport.write("\(d)/c.jsonl", corpus)
        #expect(ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1").0 == 0)
        var eval = ""
        for (k, m) in ["toy-1b", "toy-10b", "toy-100b"].enumerated() {
            for q in 0..<60 { eval += "{\"question\": \"How many boats pass mill \(q)?\", \"model\": \"\(m)\", \"correct\": \((q + k) % 3 != 0)}\n" }
        }
        TestSupport.write("\(d)/e.jsonl", eval)
        let (rc, _, err) = ts("report", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--group-by", "model", "--terms", "numbers", "-o", "\(d)/r")
        #expect(rc == 0, "\(err)")
        #expect(err.contains("side by side"))
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(d)/r/report.json"))) as! [String: Any]
        let sets = j["sets"] as! [[String: Any]]
        #expect(sets.count == 1 && (sets[0]["questions"] as! Int) == 60)
        #expect((sets[0]["models"] as! [[String: Any]]).map { $0["model"] as! String } == ["toy-1b", "toy-10b", "toy-100b"])
        #expect(((j["scale"] as! [String: Any])["groups"] as! [[String: Any]]).count == 1)
        #expect(FileManager.default.fileExists(atPath: "\(d)/r/scaling.svg"))
        let (rc2, out, err2) = ts("scaling", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "numbers", "--bootstrap", "50", "--json", "-")
        #expect(rc2 == 0, "\(err2)")
        let s = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        #expect(((s["groups"] as! [[String: Any]])[0]["questions_answered_by_all"] as! Int) == 60)
        #expect(err2.contains("Joint model"))   // the table went to stderr
        // --sizes wins for the models it names; the others keep the size in their name.
        let (rc3, out3, err3) = ts("scaling", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "numbers",
                                   "--sizes", "toy-1b=2e9", "--bootstrap", "0", "--json", "-")
        #expect(rc3 == 0, "\(err3)")
        let models = ((try JSONSerialization.jsonObject(with: Data(out3.utf8)) as! [String: Any])["groups"] as! [[String: Any]])[0]["models"] as! [[String: Any]]
        #expect(models.map { $0["size_source"] as! String } == ["--sizes", "the model name", "the model name"])
        #expect(models.map { $0["params"] as! Double } == [2e9, 1e10, 1e11])
        // A model field whose values carry no size: exit 65 naming the model.
        let (rc4, _, err4) = ts("scaling", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "numbers", "--model-field", "question")
        #expect(rc4 == 65 && err4.contains("no size for model"), "\(err4)")
        #expect(ts("scaling", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--adjust", "bonferroni").0 == 64)
        #expect(ts("scaling", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--csv", "\(d)/e.jsonl").0 == 64)
    }

    /// `entities` writes a gazetteer that `cooccur --entities` and `correlate --entities` use.
    @Test func entitiesFromACorpusFieldThroughCooccurAndCorrelate() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var corpus = ""
        for i in 0..<120 {
            let title = ["Paris", "Berlin", "Rome"][i % 3]
            corpus += "{\"title\": \"\(title)\", \"text\": \"\(title) is a city \(i % 4 == 0 ? "on the river" : "of art") \(i % 5)\"}\n"
        }
        TestSupport.write("\(d)/c.jsonl", corpus)
        #expect(ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1-2").0 == 0)
        let (rc, _, err) = ts("entities", "\(d)/c.jsonl", "--field", "title", "-o", "\(d)/g.tsv")
        #expect(rc == 0 && err.contains("3 entities from 120 documents"), "\(err)")
        let g = String(decoding: TestSupport.read("\(d)/g.tsv"), as: UTF8.self)
        #expect(g.split(separator: "\n").dropFirst().map(String.init) == ["Berlin", "Paris", "Rome"])
        #expect(ts("entities", "\(d)/c.jsonl", "-o", "\(d)/c.jsonl").0 == 64)
        var eval = ""
        for q in 0..<30 { eval += "{\"question\": \"Is \(["Paris", "Berlin", "Rome"][q % 3]) on the river?\", \"answer\": \"\(q % 5)\", \"correct\": \(q % 2 == 0)}\n" }
        TestSupport.write("\(d)/e.jsonl", eval)
        let (rc2, out2, err2) = ts("cooccur", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--corpus", "\(d)/c.jsonl", "--entities", "\(d)/g.tsv")
        #expect(rc2 == 0 && out2.contains("question terms entities"), "\(err2)")
        let (rc3, out3, err3) = ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "qa-cooccurrence",
                                   "--measure", "df", "--entities", "\(d)/g.tsv", "--bootstrap", "0", "--json", "-")
        #expect(rc3 == 0, "\(err3)")
        let j = try JSONSerialization.jsonObject(with: Data(out3.utf8)) as! [String: Any]
        #expect((j["feature"] as! [String: Any])["relevant"] as? String == "best-pair")
        #expect(ts("correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--terms", "entities").0 == 64)
    }
}
