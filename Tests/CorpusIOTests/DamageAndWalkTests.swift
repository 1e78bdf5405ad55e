import Foundation
import Testing
import TestSupport
@testable import CorpusIO

/// Issue 14: damaged compressed files keep every document decoded before the damage, and the
/// directory walk reads each real file once.
@Suite(.serialized) struct DamageAndWalkTests {
    /// Incompressible-ish JSONL so that the compressed file has many blocks.
    func corpusText(docs: Int) -> String {
        var rng = SplitMix(seed: 42)
        var s = ""
        for i in 0..<docs {
            let words = (0..<(60 + Int(rng.next() % 80))).map { _ in String(rng.next() % 1_000_000, radix: 36) }
            s += "{\"id\": \(i), \"text\": \"\(words.joined(separator: " "))\"}\n"
        }
        return s
    }

    func documents(_ path: String, _ policy: ErrorPolicy) throws(InputError) -> (Int, SourceCounters) {
        let r = try DocumentReader(path: path, format: .jsonl(field: "text"), policy: policy)
        var n = 0
        try r.forEachDocument { _ in n += 1 }
        return (n, r.counters)
    }

    /// What the reference decoder (`zstd -dc`, `gzip -dc`) writes before it stops, counted as
    /// this reader counts: complete lines that are JSON objects with a string `text` (damage
    /// that decodes silently to garbage is caught by JSON checks or the frame checksum later).
    func referenceDocuments(_ tool: String, _ path: String) -> Int {
        let script = """
        import json, subprocess, sys
        out = subprocess.run([sys.argv[1], "-dc", sys.argv[2]], capture_output=True).stdout
        n = 0
        for line in out.split(b"\\n")[:-1]:
            try:
                v = json.loads(line)
                n += isinstance(v, dict) and isinstance(v.get("text"), str)
            except Exception:
                pass
        print(n)
        """
        let (_, out, err) = TestSupport.run("python3", ["-c", script, tool, path])
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? { Issue.record("\(err)"); return -1 }()
    }

    @Test func aDamagedZstdFileKeepsEveryDocumentDecodedBeforeTheDamage() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/c.jsonl", corpusText(docs: 3000))
        for level in ["-3", "-19"] {
            TestSupport.zstd("\(d)/c.jsonl", "\(d)/c.jsonl.zst", extra: [level])
            let bytes = TestSupport.read("\(d)/c.jsonl.zst")
            for frac in [0.3, 0.5, 0.8] {
                let at = Int(Double(bytes.count) * frac)
                var bad = bytes
                for k in 0..<16 { bad[at + k] ^= 0xFF }
                TestSupport.write("\(d)/bad.jsonl.zst", bytes: bad)
                let expected = referenceDocuments("zstd", "\(d)/bad.jsonl.zst")
                #expect(expected > 0 && expected < 3000)
                let (n, counters) = try documents("\(d)/bad.jsonl.zst", .skip)
                // Everything the reference decoder wrote is kept (it withholds its last output
                // buffer on an error; this reader hands out every decoded byte).
                #expect(n >= expected && n < 3000, "level \(level) damage at \(at): \(n) documents, zstd -dc decodes \(expected)")
                #expect(counters.incomplete && counters.skipped[.corrupt] == 1)
                // Stop mode: the decoder's error names the block it failed in, near the damage
                // (a block is at most 128 KiB; zstd may notice the damage a block later).
                let stopped: InputError
                do {
                    _ = try documents("\(d)/bad.jsonl.zst", .stop)
                    Issue.record("no error for damage at \(at)")
                    continue
                } catch {
                    stopped = error
                }
                if stopped.kind == .corrupt {
                    let off = try #require(stopped.offset)
                    #expect(off > Int64(at) - 128 * 1024 - 3 && off < Int64(at) + 256 * 1024, "reported \(off), damage at \(at)")
                } else {
                    // Damage that decoded to text: the first bad line is named.
                    #expect(stopped.kind == .invalidJSON || stopped.kind == .missingField, "\(stopped)")
                }
            }
        }
    }

    @Test func aGzipFileWithABadChecksumKeepsItsDocuments() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/c.jsonl", corpusText(docs: 800))
        TestSupport.gzip("\(d)/c.jsonl", "\(d)/c.jsonl.gz")
        var bytes = TestSupport.read("\(d)/c.jsonl.gz")
        bytes[bytes.count - 8] ^= 0xFF   // the CRC-32 of the trailer
        TestSupport.write("\(d)/bad.jsonl.gz", bytes: bytes)
        #expect(referenceDocuments("gzip", "\(d)/bad.jsonl.gz") == 800)
        let (n, counters) = try documents("\(d)/bad.jsonl.gz", .skip)
        #expect(n == 800 && counters.skipped[.corrupt] == 1)
        #expect(throws: InputError.self) { _ = try documents("\(d)/bad.jsonl.gz", .stop) }
    }

    @Test func theWalkListsEachRealFileOnceAndEndsOnLoops() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let t = "\(d)/t"
        try FileManager.default.createDirectory(atPath: "\(t)/a/b", withIntermediateDirectories: true)
        TestSupport.write("\(t)/x.jsonl", "{}\n")
        TestSupport.write("\(t)/a/b/y.txt.zst", "")
        TestSupport.write("\(t)/a/notes.md", "")
        TestSupport.write("\(d)/outside.txt", "")
        symlink(".", "\(t)/self")
        symlink("../..", "\(t)/a/b/loop")
        symlink("hard.jsonl", "\(t)/a/z.jsonl")
        symlink("../x.jsonl", "\(t)/a/w.jsonl")
        symlink("\(d)/outside.txt", "\(t)/o.txt")
        symlink("missing.jsonl", "\(t)/gone.jsonl")
        link("\(t)/x.jsonl", "\(t)/a/hard.jsonl")
        let e = try expandInputsDetailed([t])
        // x.jsonl and a/hard.jsonl are one file (hard links): the first one walked (depth first,
        // in name order) is listed.
        #expect(e.files == ["\(t)/a/b/y.txt.zst", "\(t)/a/hard.jsonl"])
        #expect(e.linksOutOfTree == ["\(t)/o.txt"])
        #expect(e.brokenLinks == ["\(t)/gone.jsonl"])
        #expect(Set(e.duplicatePaths) == Set(["\(t)/self", "\(t)/a/b/loop", "\(t)/a/z.jsonl", "\(t)/a/w.jsonl", "\(t)/x.jsonl"]))
        // The same file named twice, and a named link out of the tree, are fine.
        let e2 = try expandInputsDetailed([t, "\(t)/x.jsonl", "\(t)/o.txt"])
        #expect(e2.files == ["\(t)/a/b/y.txt.zst", "\(t)/a/hard.jsonl", "\(t)/o.txt"])
    }

    @Test func theWalkStopsOnAnInterrupt() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/x.jsonl", "{}\n")
        // SIGINT/SIGTERM set the flag this polls; the walk stops at the next entry.
        var polls = 0
        #expect(throws: Interrupted.self) { _ = try expandInputsDetailed([d]) { polls += 1; return polls > 1 } }
    }
}
