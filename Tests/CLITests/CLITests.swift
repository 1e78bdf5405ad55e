import Foundation
import Testing
import TestSupport

/// End-to-end tests of the built `tailscope` executable.
@Suite struct CLITests {
    static var binary: String {
        // The test bundle sits in the same build directory as the executable.
        let dir = Bundle.main.bundleURL.path
        for cand in [dir + "/tailscope", TestSupport.packageRoot + "/.build/debug/tailscope"]
        where FileManager.default.isExecutableFile(atPath: cand) { return cand }
        return TestSupport.packageRoot + "/.build/debug/tailscope"
    }

    func ts(_ args: String...) -> (Int32, String, String) { TestSupport.run(Self.binary, args) }

    @Test func helpTeachesTheCommands() {
        let (rc, out, _) = ts("--help")
        #expect(rc == 0)
        for c in ["index", "stats", "count", "top", "merge", "Exit codes"] { #expect(out.contains(c)) }
        let (rc2, out2, _) = ts("index", "--help")
        #expect(rc2 == 0)
        #expect(out2.contains("--memory") && out2.contains("--on-error") && out2.contains("--shard"))
    }

    @Test func indexStatsCountTopWorkEndToEndWithJSON() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/c.jsonl", "{\"text\": \"The cat sat on the mat.\"}\n{\"text\": \"The cat ran.\"}\n")
        TestSupport.zstd("\(d)/c.jsonl", "\(d)/c.jsonl.zst")
        let (rc, out, err) = ts("index", "\(d)/c.jsonl.zst", "-o", "\(d)/i.sqlite", "--json")
        #expect(rc == 0, "\(err)")
        let summary = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        #expect(summary["docs"] as? Int == 2 && summary["tokens"] as? Int == 9)
        let (_, stats, _) = ts("stats", "\(d)/i.sqlite", "--json")
        let s = try JSONSerialization.jsonObject(with: Data(stats.utf8)) as! [String: Any]
        let orders = s["orders"] as! [[String: Any]]
        #expect(orders.map { $0["types"] as! Int } == [6, 6, 5])
        let (_, cnt, _) = ts("count", "\(d)/i.sqlite", "THE CAT", "dog", "--json")
        let c = try JSONSerialization.jsonObject(with: Data(cnt.utf8)) as! [[String: Any]]
        #expect(c[0]["count"] as? Int == 2 && c[0]["df"] as? Int == 2 && c[1]["count"] as? Int == 0)
        let (_, top, _) = ts("top", "\(d)/i.sqlite", "--order", "2", "--limit", "1")
        #expect(top.contains("the cat"))
        // Plain SQL reads the index through the documented views.
        let (_, sql, _) = TestSupport.run("sqlite3", ["\(d)/i.sqlite", "SELECT ngram, count FROM ngram2_text ORDER BY count DESC, ngram LIMIT 1"])
        #expect(sql.trimmingCharacters(in: .whitespacesAndNewlines) == "the cat|2")
    }

    @Test func badInputExitsWithDataErrorNamingFileAndLine() {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/c.jsonl", "{\"text\": \"ok\"}\n{\"text\": \n")
        let (rc, _, err) = ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite")
        #expect(rc == 65)
        #expect(err.contains("c.jsonl:2"))
        #expect(!FileManager.default.fileExists(atPath: "\(d)/i.sqlite"))
        let (rc2, _, err2) = ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--on-error", "skip")
        #expect(rc2 == 0)
        #expect(err2.contains("skipped 1 invalid_json"))
        let (_, stats, _) = ts("stats", "\(d)/i.sqlite")
        #expect(stats.contains("1 invalid_json"))
    }

    @Test func missingInputAndBadUsageHaveTheirOwnExitCodes() {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        #expect(ts("index", "\(d)/nope.jsonl", "-o", "\(d)/i.sqlite").0 == 66)
        #expect(ts("index", "\(d)/nope.jsonl", "-o", "\(d)/i.sqlite", "--orders", "2-3").0 == 64)
        #expect(ts("index", "\(d)/nope.jsonl", "-o", "\(d)/i.sqlite", "--memory", "lots").0 == 64)
        #expect(ts("stats", "\(d)/nope.sqlite").0 == 74)
    }

    @Test func pythonReferenceAgreesOnRealText() throws {
        guard let corpus = TestSupport.fortunes("txt") else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let script = TestSupport.packageRoot + "/scripts/reference_count.py"
        let (prc, _, perr) = TestSupport.run("python3", [script, corpus, "--doc-per", "paragraph", "--orders", "3", "--dump", "\(d)/ref.tsv"])
        #expect(prc == 0, "\(perr)")
        let (rc, _, err) = ts("index", corpus, "--doc-per", "paragraph", "-o", "\(d)/i.sqlite", "--memory", "2MiB")
        #expect(rc == 0, "\(err)")
        let (_, ours, _) = TestSupport.run("/bin/sh", ["-c", "sqlite3 -separator '\t' '\(d)/i.sqlite' 'SELECT n, ngram, count, df FROM ngrams' | LC_ALL=C sort | md5sum"])
        let (_, ref, _) = TestSupport.run("/bin/sh", ["-c", "LC_ALL=C sort '\(d)/ref.tsv' | md5sum"])
        #expect(ours == ref)
    }
}
