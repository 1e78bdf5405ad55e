import Foundation
import Testing
import TestSupport

@Suite struct PruneCLITests {
    func ts(_ args: String...) -> (Int32, String, String) { TestSupport.run(CLITests.binary, args) }

    @Test func pruneEndToEnd() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var corpus = ""
        for i in 0..<300 { corpus += "{\"id\": \(i), \"text\": \"the mill by the river turns \(i % 40) times for boat \(i % 7)\"}\n" }
        corpus += "{\"id\": 300, \"text\": \"Once upon a time the little red mill by the quiet river turned slowly every single morning.\"}\n"
        TestSupport.write("\(d)/c.jsonl", corpus)
        TestSupport.write("\(d)/eval.jsonl", "{\"question\": \"Why had the little red mill by the quiet river turned slowly every single morning?\", \"answer\": \"x\"}\n")
        #expect(ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite").0 == 0)

        // Usage errors exit 64 and write nothing.
        #expect(ts("prune", "\(d)/c.jsonl", "-o", "\(d)/o.jsonl").0 == 64)                       // no step
        #expect(ts("prune", "\(d)/c.jsonl", "--dedup", "exact").0 == 64)                          // no -o, no --dry-run
        #expect(ts("prune", "\(d)/c.jsonl", "--dedup", "fuzzy", "--dry-run").0 == 64)
        #expect(ts("prune", "\(d)/c.jsonl", "--balance", "5", "--dry-run").0 == 64)               // needs --index
        #expect(ts("prune", "\(d)/c.jsonl", "--index", "\(d)/i.sqlite", "--keep", "tail", "--dry-run").0 == 64)  // no target
        #expect(ts("prune", "\(d)/c.jsonl", "--dedup", "exact", "-o", "\(d)/o.txt").0 == 64)     // JSONL -> text
        #expect(ts("prune", "\(d)/c.jsonl", "--index", "\(d)/i.sqlite", "--keep", "hard", "--clusters", "0",
                   "--target-fraction", "0.5", "--dry-run").0 == 64)
        #expect(ts("prune", "\(d)/c.jsonl", "--index", "\(d)/i.sqlite", "--keep", "middle", "--target-fraction", "0.5",
                   "--dry-run").0 == 64)

        // --keep hard: prototypes fitted, reported in the JSON, half the documents kept.
        let (hrc, hout, herr) = ts("prune", "\(d)/c.jsonl", "--index", "\(d)/i.sqlite", "--keep", "hard", "--clusters", "4",
                                   "--target-fraction", "0.5", "--dry-run", "--json")
        #expect(hrc == 0, "\(herr)")
        let hj = try JSONSerialization.jsonObject(with: Data(hout.utf8)) as? [String: Any]
        let proto = hj?["prototypes"] as? [String: Any]
        #expect(proto?["clusters"] as? Int == 4 && proto?["sampled"] as? Int == 301, "\(hout)")
        #expect(herr.contains("prototypes from 301 sampled documents"), "\(herr)")
        #expect(!FileManager.default.fileExists(atPath: "\(d)/o.jsonl"))

        // Dry run: the exact output size, nothing written but the manifest.
        let (rc, out, err) = ts("prune", "\(d)/c.jsonl", "--dedup", "exact", "--decontaminate", "\(d)/eval.jsonl",
                                "--dry-run", "--manifest", "\(d)/m.sqlite", "--json")
        #expect(rc == 0, "\(err)")
        #expect(err.contains("before") && err.contains("dedup"))
        let j = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        let after = j["after"] as! [String: Any]
        // 300 repeats of the 40 x 7 = 280 distinct texts, and one text holding the question's 13-gram.
        #expect(after["docs"] as! Int == 280)
        let steps = j["steps"] as! [[String: Any]]
        #expect(steps.map { $0["dropped"] as! Int } == [20, 1])
        #expect(!FileManager.default.fileExists(atPath: "\(d)/o.jsonl"))

        // Write, then explain.
        let (rc2, _, err2) = ts("prune", "\(d)/c.jsonl", "--dedup", "exact", "-o", "\(d)/o.jsonl.zst", "--manifest", "\(d)/m2.sqlite")
        #expect(rc2 == 0, "\(err2)")
        let (rc3, ex, _) = ts("prune", "--explain", "c.jsonl:281", "--manifest", "\(d)/m2.sqlite")
        #expect(rc3 == 0 && ex.contains("dropped by dedup: exact-duplicate") && ex.contains("document 0"), "\(ex)")
        let (_, ex2, _) = ts("prune", "--explain", "0", "--manifest", "\(d)/m2.sqlite", "--json")
        let rows = try JSONSerialization.jsonObject(with: Data(ex2.utf8)) as! [[String: Any]]
        #expect(rows.count == 1 && rows[0]["decision"] as! String == "keep")
        #expect(ts("prune", "--explain", "99999", "--manifest", "\(d)/m2.sqlite").0 == 65)

        // A truncated input: exit 65 naming the file, no output.
        TestSupport.zstd("\(d)/c.jsonl", "\(d)/c.jsonl.zst")
        let z = TestSupport.read("\(d)/c.jsonl.zst")
        TestSupport.write("\(d)/cut.jsonl.zst", bytes: Array(z.prefix(z.count - 8)))
        let (rc4, _, err4) = ts("prune", "\(d)/cut.jsonl.zst", "--dedup", "exact", "-o", "\(d)/o2.jsonl.zst")
        #expect(rc4 == 65 && err4.contains("cut.jsonl.zst"), "\(err4)")
        #expect(!FileManager.default.fileExists(atPath: "\(d)/o2.jsonl.zst"))
    }

    /// One option group reads the corpus for index, cooccur and prune: --format, --text-field,
    /// --doc-per and --max-line work the same on each.
    @Test func everyCorpusPassTakesTheSameReadingFlags() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var corpus = ""
        for i in 0..<50 { corpus += "{\"body\": \"the mill \(i % 5) turns\"}\n" }
        // A name that does not say JSON lines: --format jsonl does.
        TestSupport.write("\(d)/c.dat", corpus)
        #expect(ts("index", "\(d)/c.dat", "--format", "jsonl", "--text-field", "body", "-o", "\(d)/i.sqlite", "--orders", "1").0 == 0)
        TestSupport.write("\(d)/q.jsonl", "{\"question\": \"does the mill turn\", \"answer\": \"3\"}\n")
        let (rc, out, err) = ts("cooccur", "--index", "\(d)/i.sqlite", "--eval", "\(d)/q.jsonl", "--corpus", "\(d)/c.dat",
                                "--format", "jsonl", "--text-field", "body", "--json")
        #expect(rc == 0, "\(err)")
        #expect((try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any])["docs"] as? Int == 50)
        let (rc2, _, err2) = ts("prune", "\(d)/c.dat", "--format", "jsonl", "--text-field", "body", "--dedup", "exact", "--dry-run")
        #expect(rc2 == 0 && err2.contains("50"), "\(err2)")
        // --max-line: an over-long line stops each of them (exit 65), and a bad size is usage.
        TestSupport.write("\(d)/long.jsonl", "{\"text\": \"" + String(repeating: "word ", count: 600) + "\"}\n")
        #expect(ts("index", "\(d)/long.jsonl", "--max-line", "1KiB", "-o", "\(d)/l.sqlite").0 == 65)
        #expect(ts("prune", "\(d)/long.jsonl", "--max-line", "1KiB", "--dedup", "exact", "--dry-run").0 == 65)
        #expect(ts("prune", "\(d)/long.jsonl", "--max-line", "huge", "--dedup", "exact", "--dry-run").0 == 64)
        #expect(ts("cooccur", "--index", "\(d)/i.sqlite", "--eval", "\(d)/q.jsonl", "--corpus", "\(d)/c.dat", "--format", "xml").0 == 64)
    }

    /// cooccur shards from the command line: --shard K/N -o, merge --into, the rerun skip, exit codes.
    @Test func cooccurShardsFromTheCommandLine() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        for f in 0..<3 {
            var corpus = ""
            for i in 0..<40 { corpus += "{\"text\": \"the mill \(i % 5) turns \((i + f) % 7) times\"}\n" }
            TestSupport.write("\(d)/c\(f).jsonl", corpus)
        }
        let corpus = ["\(d)/c0.jsonl", "\(d)/c1.jsonl", "\(d)/c2.jsonl"]
        #expect(ts(["index"] + corpus + ["-o", "\(d)/i.sqlite", "--orders", "1"]).0 == 0)
        TestSupport.write("\(d)/q.jsonl", "{\"question\": \"does the mill turn 3 times\", \"answer\": \"4\"}\n")
        let base = ["cooccur", "--index", "\(d)/i.sqlite", "--eval", "\(d)/q.jsonl", "--corpus"] + corpus
        #expect(ts(base + ["--shard", "1/2"]).0 == 64)                                       // no -o
        #expect(ts(base + ["--shard", "3/2", "-o", "\(d)/s1.sqlite"]).0 == 64)
        #expect(ts(base + ["--shard", "1/2", "-o", "\(d)/q.jsonl"]).0 == 64)                   // an input
        for k in 1...2 {
            let (rc, out, err) = ts(base + ["--shard", "\(k)/2", "--shard-by", "doc", "-o", "\(d)/s\(k).sqlite"])
            #expect(rc == 0 && out.contains("Shard \(k)/2"), "\(err)")
        }
        let (rc, out, _) = ts(base + ["--shard", "1/2", "--shard-by", "doc", "-o", "\(d)/s1.sqlite"])
        #expect(rc == 0 && out.contains("already complete"))
        #expect(ts("merge", "\(d)/s1.sqlite", "--into", "\(d)/i.sqlite").0 == 65)               // incomplete set
        #expect(ts("merge", "\(d)/q.jsonl", "--into", "\(d)/i.sqlite").0 != 0)
        let (rc2, _, err2) = ts("merge", "\(d)/s1.sqlite", "\(d)/s2.sqlite", "--into", "\(d)/i.sqlite")
        #expect(rc2 == 0 && err2.contains("summed 2 cooccur shards (120 docs"), "\(err2)")
        #expect(ts("merge", "\(d)/s1.sqlite", "-o", "\(d)/x.sqlite", "--into", "\(d)/i.sqlite").0 == 64)
    }

    func ts(_ args: [String]) -> (Int32, String, String) { TestSupport.run(CLITests.binary, args) }
}
