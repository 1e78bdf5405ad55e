import Testing
import TestSupport
@testable import CorpusIO

private func lines(of path: String, format: DocumentFormat = .text(.line), policy: ErrorPolicy = .stop) throws(InputError) -> [String] {
    let r = try DocumentReader(path: path, format: format, policy: policy)
    var out: [String] = []
    try r.forEachDocument { out.append(String(decoding: $0, as: UTF8.self)) }
    return out
}

@Suite struct DecompressionTests {
    let text = (0..<5000).map { "line \($0) with some text ünïcödé" }.joined(separator: "\n") + "\n"

    @Test func zstdGzipAndPlainGiveTheSameDocuments() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", text)
        TestSupport.zstd("\(d)/a.txt", "\(d)/a.txt.zst")
        TestSupport.gzip("\(d)/a.txt", "\(d)/a.txt.gz")
        let plain = try lines(of: "\(d)/a.txt")
        #expect(plain.count == 5000)
        #expect(try lines(of: "\(d)/a.txt.zst") == plain)
        #expect(try lines(of: "\(d)/a.txt.gz") == plain)
    }

    @Test func concatenatedZstdFramesAndGzipMembersAreAllRead() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/p1.txt", "one\ntwo\n")
        TestSupport.write("\(d)/p2.txt", "three\n")
        TestSupport.zstd("\(d)/p1.txt", "\(d)/p1.zst"); TestSupport.zstd("\(d)/p2.txt", "\(d)/p2.zst")
        TestSupport.gzip("\(d)/p1.txt", "\(d)/p1.gz"); TestSupport.gzip("\(d)/p2.txt", "\(d)/p2.gz")
        TestSupport.write("\(d)/multi.txt.zst", bytes: TestSupport.read("\(d)/p1.zst") + TestSupport.read("\(d)/p2.zst"))
        TestSupport.write("\(d)/multi.txt.gz", bytes: TestSupport.read("\(d)/p1.gz") + TestSupport.read("\(d)/p2.gz") + [0, 0, 0])
        #expect(try lines(of: "\(d)/multi.txt.zst") == ["one", "two", "three"])
        #expect(try lines(of: "\(d)/multi.txt.gz") == ["one", "two", "three"])
    }

    @Test func longWindowZstdDecodes() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", text)
        TestSupport.zstd("\(d)/a.txt", "\(d)/a.txt.zst", extra: ["--long=30"])
        #expect(try lines(of: "\(d)/a.txt.zst").count == 5000)
    }

    @Test func magicBytesWinOverTheFileName() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", "alpha\nbeta\n")
        TestSupport.gzip("\(d)/a.txt", "\(d)/looks-plain.txt")
        #expect(try lines(of: "\(d)/looks-plain.txt") == ["alpha", "beta"])
    }

    @Test func truncatedZstdFrameReportsFileAndOffset() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        // Large enough for many zstd blocks, so the part before the cut decodes.
        var rng = SplitMix(seed: 7)
        TestSupport.write("\(d)/a.txt", (0..<50000).map { _ in "w\(rng.next() % 100000) x\(rng.next())" }.joined(separator: "\n") + "\n")
        TestSupport.zstd("\(d)/a.txt", "\(d)/a.txt.zst")
        let full = TestSupport.read("\(d)/a.txt.zst")
        TestSupport.write("\(d)/cut.txt.zst", bytes: Array(full[0..<(full.count / 2)]))
        do {
            _ = try lines(of: "\(d)/cut.txt.zst")
            Issue.record("no error")
        } catch {
            #expect(error.kind == .truncated)
            #expect(error.path.hasSuffix("cut.txt.zst"))
            #expect(error.offset != nil)
        }
        // With skip, the documents before the cut are kept and the file is marked incomplete.
        let r = try DocumentReader(path: "\(d)/cut.txt.zst", format: .text(.line), policy: .skip)
        var n = 0
        try r.forEachDocument { _ in n += 1 }
        #expect(n > 0 && n < 50000)
        #expect(r.counters.incomplete)
        #expect(r.counters.skipped[.truncated] == 1)
    }

    @Test func truncatedGzipMemberIsReported() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", text)
        TestSupport.gzip("\(d)/a.txt", "\(d)/a.txt.gz")
        let full = TestSupport.read("\(d)/a.txt.gz")
        TestSupport.write("\(d)/cut.txt.gz", bytes: Array(full[0..<(full.count - 20)]))
        #expect(throws: InputError.self) { _ = try lines(of: "\(d)/cut.txt.gz") }
        do { _ = try lines(of: "\(d)/cut.txt.gz") } catch { #expect(error.kind == .truncated) }
    }

    @Test func corruptCompressedDataIsReported() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", text)
        TestSupport.zstd("\(d)/a.txt", "\(d)/a.txt.zst")
        TestSupport.gzip("\(d)/a.txt", "\(d)/a.txt.gz")
        for name in ["a.txt.zst", "a.txt.gz"] {
            var b = TestSupport.read("\(d)/\(name)")
            for i in stride(from: 30, to: min(b.count - 10, 400), by: 3) { b[i] ^= 0x5A }
            TestSupport.write("\(d)/bad-\(name)", bytes: b)
            do {
                _ = try lines(of: "\(d)/bad-\(name)")
                Issue.record("no error for \(name)")
            } catch {
                #expect(error.kind == .corrupt || error.kind == .truncated, "\(name): \(error)")
                #expect(error.description.contains("bad-\(name)"))
            }
        }
    }

    @Test func emptyFilesAreReported() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/empty.jsonl", "")
        TestSupport.write("\(d)/blank.txt", "\n  \n\n")
        for f in ["empty.jsonl", "blank.txt"] {
            do {
                _ = try lines(of: "\(d)/\(f)", format: f.hasSuffix("jsonl") ? .jsonl(field: "text") : .text(.line))
                Issue.record("no error")
            } catch {
                #expect(error.kind == .emptyFile)
            }
        }
    }

    @Test func overLongLinesAreReportedAndSkippable() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", "short\n" + String(repeating: "x", count: 5000) + "\nafter\n")
        do {
            let r = try DocumentReader(path: "\(d)/a.txt", format: .text(.line), policy: .stop, maxLineBytes: 1024)
            try r.forEachDocument { _ in }
            Issue.record("no error")
        } catch {
            #expect(error.kind == .lineTooLong)
            #expect(error.line == 2)
        }
        let r = try DocumentReader(path: "\(d)/a.txt", format: .text(.line), policy: .skip, maxLineBytes: 1024)
        var docs: [String] = []
        try r.forEachDocument { docs.append(String(decoding: $0, as: UTF8.self)) }
        #expect(docs == ["short", "after"])
        #expect(r.counters.skipped[.lineTooLong] == 1)
    }

    @Test func paragraphAndFileSplitting() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/a.txt", "a b\nc\n\n\nd e\n \nf")
        #expect(try lines(of: "\(d)/a.txt", format: .text(.paragraph)) == ["a b\nc", "d e", "f"])
        #expect(try lines(of: "\(d)/a.txt", format: .text(.file)).count == 1)
        #expect(try lines(of: "\(d)/a.txt", format: .text(.line)) == ["a b", "c", "d e", "f"])
    }
}
