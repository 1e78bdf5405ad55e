import Foundation
import Testing
import TestSupport

/// Issue 14: no command destroys a user's file, counts wrong in silence, or says the wrong thing.
@Suite struct SafetyCLITests {
    func ts(_ args: String...) -> (Int32, String, String) { TestSupport.run(CLITests.binary, args) }
    func ts(_ args: [String]) -> (Int32, String, String) { TestSupport.run(CLITests.binary, args) }

    func corpus(_ d: String, docs: Int = 40) -> String {
        var s = ""
        for i in 0..<docs { s += "{\"id\": \(i), \"text\": \"document \(i % 7) holds the words paris and \(i % 3) apples\"}\n" }
        TestSupport.write("\(d)/corpus.jsonl", s)
        return "\(d)/corpus.jsonl"
    }

    func isCharacterDevice(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    @Test func pruneRefusesAnOutputThatIsAnInputUnderAnySpelling() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let c = corpus(d)
        let before = TestSupport.read(c)
        symlink("corpus.jsonl", "\(d)/link.jsonl")
        link(c, "\(d)/hard.jsonl")
        let base = (d as NSString).lastPathComponent
        let spellings = [c, "\(d)/./corpus.jsonl", "\(d)/../\(base)/corpus.jsonl", "\(d)/link.jsonl", "\(d)/hard.jsonl"]
        for s in spellings {
            let (rc, _, err) = ts("prune", c, "--dedup", "exact", "-o", s)
            #expect(rc == 64 && err.contains("same file as the input"), "\(s): \(rc) \(err)")
            let (rc2, _, _) = ts("prune", c, "--dedup", "exact", "-o", "\(d)/out.jsonl", "--manifest", s)
            #expect(rc2 == 64, "--manifest \(s)")
        }
        #expect(TestSupport.read(c) == before)
        // Two outputs on one file fail at once, naming both, and create nothing.
        let (rc3, _, err3) = ts("prune", c, "--dedup", "exact", "-o", "\(d)/X", "--manifest", "\(d)/./X")
        #expect(rc3 == 64 && err3.contains("same file"), "\(err3)")
        #expect(!FileManager.default.fileExists(atPath: "\(d)/X"))
        #expect(!FileManager.default.fileExists(atPath: "\(d)/out.jsonl"))
        // Neither -o nor a report or an index may replace an input either.
        #expect(ts("index", c, "-o", "\(d)/link.jsonl").0 == 64)
        #expect(TestSupport.read(c) == before)
    }

    @Test func nonRegularOutputsAreWrittenInPlaceAndDashIsStandardOutput() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let c = corpus(d)
        #expect(ts("index", c, "-o", "\(d)/i.sqlite", "--orders", "1-2").0 == 0)
        var eval = ""
        for i in 0..<30 { eval += "{\"question\": \"How many apples in paris \(i % 3)?\", \"answer\": \"\(i)\", \"correct\": \(i % 2 == 0)}\n" }
        TestSupport.write("\(d)/e.jsonl", eval)
        let common = ["correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "--bootstrap", "10"]
        for flag in ["--csv", "--json", "--plot"] {
            let (rc, _, err) = ts(common + [flag, "/dev/null"])
            #expect(rc == 0, "\(flag): \(err)")
            #expect(isCharacterDevice("/dev/null"), "\(flag) replaced /dev/null")
        }
        let (rc, _, err) = ts("prune", c, "--dedup", "exact", "-o", "/dev/null")
        #expect(rc == 0 && isCharacterDevice("/dev/null"), "\(err)")
        #expect(ts("index", c, "-o", "/dev/null").0 == 64 && isCharacterDevice("/dev/null"))
        // A FIFO is written through, not replaced.
        #expect(mkfifo("\(d)/fifo", 0o644) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat '\(d)/fifo' > '\(d)/fifo.out'"]
        try reader.run()
        #expect(ts(common + ["--csv", "\(d)/fifo"]).0 == 0)
        reader.waitUntilExit()
        var st = stat()
        #expect(lstat("\(d)/fifo", &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(try String(contentsOfFile: "\(d)/fifo.out", encoding: .utf8).split(separator: "\n").count == 31)
        // `-` is standard output: the curated JSONL, the CSV (the table then goes to stderr).
        let (rc4, out4, _) = ts("prune", c, "--dedup", "exact", "-o", "-")
        #expect(rc4 == 0 && out4.split(separator: "\n").count == 40 - 19, "\(out4.prefix(200))")
        let (rc5, out5, err5) = ts(common + ["--csv", "-"])
        #expect(rc5 == 0 && out5.split(separator: "\n").count == 31, "\(out5.prefix(300))")
        #expect(err5.contains("spearman"), "\(err5)")
        // Standard output only once; an output naming an input is refused before any reading.
        #expect(ts(common + ["--csv", "-", "--json", "-"]).0 == 64)
        #expect(ts(common + ["--csv", "\(d)/e.jsonl"]).0 == 64)
        #expect(ts(common + ["--csv", "\(d)/o.csv", "--json", "\(d)/o.csv"]).0 == 64)
        #expect(TestSupport.read("\(d)/e.jsonl") == Array(eval.utf8))
        // A report whose files would replace an input.
        try FileManager.default.createDirectory(atPath: "\(d)/rep", withIntermediateDirectories: true)
        symlink("\(d)/e.jsonl", "\(d)/rep/report.json")
        let (rc6, _, err6) = ts("report", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.jsonl", "-o", "\(d)/rep")
        #expect(rc6 == 64 && err6.contains("same file"), "\(err6)")
        #expect(TestSupport.read("\(d)/e.jsonl") == Array(eval.utf8))
    }

    @Test func aDirectoryWithSymlinkLoopsIsCountedOnce() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let tree = "\(d)/tree"
        try FileManager.default.createDirectory(atPath: "\(tree)/sub", withIntermediateDirectories: true)
        TestSupport.write("\(tree)/a.jsonl", "{\"text\": \"alpha beta\"}\n")
        TestSupport.write("\(tree)/sub/b.jsonl", "{\"text\": \"gamma delta\"}\n")
        TestSupport.write("\(d)/outside.jsonl", "{\"text\": \"outside\"}\n")
        symlink(".", "\(tree)/self")                 // a loop
        symlink("..", "\(tree)/sub/up")              // a loop through the parent
        symlink("sub", "\(tree)/sublink")            // the same directory twice
        symlink("a.jsonl", "\(tree)/alias.jsonl")    // the same file twice
        link("\(tree)/a.jsonl", "\(tree)/sub/hard.jsonl")
        symlink("\(d)/outside.jsonl", "\(tree)/out.jsonl")  // out of the tree: not followed
        let (rc, out, err) = ts("index", tree, "-o", "\(d)/i.sqlite", "--orders", "1", "--json")
        #expect(rc == 0, "\(err)")
        let j = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        #expect(j["docs"] as? Int == 2 && j["tokens"] as? Int == 4, "\(out)")
        #expect(err.contains("reached a file already listed") && err.contains("not followed"), "\(err)")
        // The user can still name a file outside the tree.
        let (rc2, out2, _) = ts("index", tree, "\(tree)/out.jsonl", "-o", "\(d)/j.sqlite", "--orders", "1", "--json")
        let j2 = try JSONSerialization.jsonObject(with: Data(out2.utf8)) as! [String: Any]
        #expect(rc2 == 0 && j2["docs"] as? Int == 3)
    }

    @Test func unreadableFilesAreSkippedAndCounted() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let c = corpus(d)
        // /proc/self/mem fails on read(2) even for root: a real unreadable input.
        symlink("/proc/self/mem", "\(d)/mem.jsonl")
        let mem = "\(d)/mem.jsonl"
        let (rc, _, err) = ts("index", c, mem, "-o", "\(d)/i.sqlite", "--orders", "1")
        #expect(rc == 66 && err.contains("unreadable"), "\(err)")
        let (rc2, out2, err2) = ts("index", c, mem, "-o", "\(d)/i.sqlite", "--orders", "1", "--on-error", "skip", "--json")
        #expect(rc2 == 0, "\(err2)")
        let j = try JSONSerialization.jsonObject(with: Data(out2.utf8)) as! [String: Any]
        #expect(j["docs"] as? Int == 40 && (j["unreadable"] as? [String]) == [mem])
        let (rc3, _, err3) = ts("prune", c, mem, "--dedup", "exact", "--dry-run", "--on-error", "skip")
        #expect(rc3 == 0 && err3.contains("unreadable 1"), "\(err3)")
        #expect(ts("prune", c, mem, "--dedup", "exact", "--dry-run").0 == 66)
        // A permission-denied file, read by an unprivileged user (root reads everything).
        if geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            let p = TestSupport.tempDir() + "-perm"
            try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
            defer { TestSupport.cleanup(p) }
            chmod(p, 0o777)
            _ = corpus(p)
            TestSupport.write("\(p)/secret.jsonl", "{\"text\": \"hidden\"}\n")
            chmod("\(p)/secret.jsonl", 0)
            let args = ["--reuid=65534", "--regid=65534", "--clear-groups", CLITests.binary, "index", p, "-o", "\(p)/i.sqlite", "--orders", "1"]
            let (r1, _, e1) = TestSupport.run("/usr/bin/setpriv", args)
            #expect(r1 == 66 && e1.contains("secret.jsonl"), "\(e1)")
            let (r2, _, e2) = TestSupport.run("/usr/bin/setpriv", args + ["--on-error", "skip"])
            #expect(r2 == 0 && e2.contains("secret.jsonl: skipped 1 unreadable"), "\(e2)")
        }
    }

    @Test func correlateSkipsMalformedCSVRows() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let c = corpus(d)
        #expect(ts("index", c, "-o", "\(d)/i.sqlite", "--orders", "1").0 == 0)
        var csv = "question,answer,correct\n"
        for i in 0..<20 { csv += "\"How many apples, \(i % 3)?\",\(i),\(i % 2)\n" }
        csv += "too,many,fields,here\n"           // line 22
        csv += "\"unterminated,1,0\n"              // line 23
        for i in 0..<5 { csv += "paris \(i),\(i),1\n" }
        TestSupport.write("\(d)/e.csv", csv)
        let base = ["correlate", "--index", "\(d)/i.sqlite", "--eval", "\(d)/e.csv", "--bootstrap", "10", "--json", "-"]
        let (rc, _, err) = ts(base)
        #expect(rc == 65 && err.contains("e.csv:22"), "\(err)")
        let (rc2, out2, err2) = ts(base + ["--on-error", "skip"])
        #expect(rc2 == 0, "\(err2)")
        let j = try JSONSerialization.jsonObject(with: Data(out2.utf8)) as! [String: Any]
        let read = j["read"] as? [String: Any] ?? j
        let skipped = (read["skipped"] as? [String: Any]) ?? (j["skipped"] as? [String: Any]) ?? [:]
        #expect(skipped["invalid_csv"] as? Int == 2, "\(out2.prefix(600))")
    }

    @Test func aFullTempDirExits74AndLeavesNoSpillDirectory() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var text = ""
        var rng = SplitMix(seed: 3)
        for _ in 0..<3000 { text += "{\"text\": \"" + (0..<30).map { _ in "w\(rng.next() % 5000)" }.joined(separator: " ") + "\"}\n" }
        TestSupport.write("\(d)/c.jsonl", text)
        let mnt = "\(d)/small"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let (m, _, _) = TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=128k", "tmpfs", mnt])
        guard m == 0 else { return }  // not allowed to mount here: nothing to test with
        defer { TestSupport.run("/bin/umount", [mnt]) }
        let (rc, _, err) = ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1-3", "--memory", "1MiB", "--temp-dir", mnt)
        #expect(rc == 74 && err.contains("No space left"), "\(rc) \(err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mnt).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(d)/i.sqlite"))
    }

    @Test func leftoversOfKilledRunsAreRemovedByTheNextRunAndByClean() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var text = ""
        var rng = SplitMix(seed: 9)
        for _ in 0..<60000 { text += "{\"text\": \"" + (0..<40).map { _ in "w\(rng.next() % 50000)" }.joined(separator: " ") + "\"}\n" }
        TestSupport.write("\(d)/c.jsonl", text)
        try FileManager.default.createDirectory(atPath: "\(d)/tmp", withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = ["index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1-3", "--memory", "1MiB", "--temp-dir", "\(d)/tmp"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until it has spilled, then kill -9.
        var spilled = false
        for _ in 0..<400 {
            usleep(25_000)
            let dirs = (try? FileManager.default.contentsOfDirectory(atPath: "\(d)/tmp")) ?? []
            if let s = dirs.first, ((try? FileManager.default.contentsOfDirectory(atPath: "\(d)/tmp/\(s)")) ?? []).count > 2 { spilled = true; break }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(spilled)
        let left = try FileManager.default.contentsOfDirectory(atPath: "\(d)/tmp")
        #expect(left.count == 1 && left[0].hasPrefix("tailscope-spill-"))
        // A leftover temporary output of a dead process, and one of a live process (this one).
        TestSupport.write("\(d)/i.sqlite.tailscope-tmp-999999", "stale")
        TestSupport.write("\(d)/i.sqlite.tailscope-tmp-\(getpid())", "live")
        let (rc, _, err) = ts("index", "\(d)/c.jsonl", "-o", "\(d)/i.sqlite", "--orders", "1-2", "--memory", "64MiB", "--temp-dir", "\(d)/tmp")
        #expect(rc == 0 && err.contains("removed 2 leftover(s)"), "\(err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(d)/tmp").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(d)/i.sqlite.tailscope-tmp-999999"))
        #expect(FileManager.default.fileExists(atPath: "\(d)/i.sqlite.tailscope-tmp-\(getpid())"))
        // `clean` does the same for whole folders, and says what it freed.
        TestSupport.write("\(d)/x.jsonl.zst.tailscope-tmp-999998", "stale2")
        let (rc2, out2, _) = ts("clean", d, "--temp-dir", "\(d)/tmp", "--json")
        #expect(rc2 == 0)
        let j = try JSONSerialization.jsonObject(with: Data(out2.utf8)) as! [String: Any]
        #expect(j["bytes"] as? Int == 6 && (j["removed"] as? [Any])?.count == 1, "\(out2)")
        #expect(FileManager.default.fileExists(atPath: "\(d)/i.sqlite.tailscope-tmp-\(getpid())"))
    }
}
