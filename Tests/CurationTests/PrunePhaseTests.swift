import CorpusIO
@testable import Curation
import Foundation
import Indexing
import IndexStore
import Testing
import TestSupport
import Tokenization

/// `prune` in phases (plan per shard, resolve, apply per shard, finish) against `prune` in one
/// process, on real text with planted duplicates, near-duplicates and eval leaks spread over
/// several files of two formats.
@Suite struct PrunePhaseTests {
    /// Five inputs: four JSONL files and one text file (a document per line), with exact copies
    /// (changed in case and spacing) and near copies (one word changed) of documents of other
    /// files, and documents that quote an eval question. Returns the inputs, the eval file and
    /// the index.
    static func corpus(in d: String) throws -> (inputs: [String], eval: String, index: String)? {
        guard let texts = fortuneTexts(limit: 2000) else { return nil }
        var rng = SplitMix(seed: 5)
        var docs = texts.map { $0.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ") }
        var questions: [String] = []
        for t in docs.prefix(300) where questions.count < 20 {
            let w = t.split(separator: " ")
            if w.count >= 15 { questions.append(w.prefix(15).joined(separator: " ")) }
        }
        for _ in 0..<150 { docs.append(docs[Int(rng.next() % UInt64(docs.count))].uppercased() + "  ") }
        for _ in 0..<150 {
            var w = docs[Int(rng.next() % 1500)].split(separator: " ").map(String.init)
            if w.count > 30 { w[Int(rng.next() % UInt64(w.count))] = "zyzzyva"; docs.append(w.joined(separator: " ")) }
        }
        for q in questions.prefix(10) { docs.append("As the saying goes, " + q + " and so on.") }
        // Shuffle, so copies land in other files than their originals.
        for i in stride(from: docs.count - 1, to: 0, by: -1) { docs.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        try FileManager.default.createDirectory(atPath: "\(d)/corpus", withIntermediateDirectories: true)
        let per = docs.count / 5 + 1
        var inputs: [String] = []
        for f in 0..<5 {
            let part = docs[min(docs.count, f * per)..<min(docs.count, (f + 1) * per)]
            if f == 4 {
                inputs.append("\(d)/corpus/e.txt")
                TestSupport.write(inputs.last!, part.joined(separator: "\n") + "\n")
            } else {
                inputs.append("\(d)/corpus/\(["a", "b", "c", "d"][f]).jsonl")
                TestSupport.write(inputs.last!, part.enumerated().map { jsonLine(["id": "\(f)-\($0.offset)", "text": $0.element]) }.joined(separator: "\n") + "\n")
            }
        }
        let eval = "\(d)/eval.jsonl"
        TestSupport.write(eval, questions.map { jsonLine(["question": $0, "answer": "x"]) }.joined(separator: "\n") + "\n")
        var io = IndexOptions(inputs: inputs, output: "\(d)/i.sqlite")
        io.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 1, minCount: 1)
        io.tempDir = d
        _ = try buildIndex(io) { _ in }
        return (inputs, eval, "\(d)/i.sqlite")
    }

    static func options(_ c: (inputs: [String], eval: String, index: String), keep: Bool) -> PruneOptions {
        var o = PruneOptions(inputs: c.inputs)
        o.index = c.index
        o.dedupExact = true
        o.decontaminate = [c.eval]
        o.contaminationN = 13
        o.nearDup = 0.7
        o.balance = 40
        if keep { o.keep = .tail; o.targetFraction = 0.7 }
        o.coverageEvals = [c.eval]
        o.seed = 9
        o.workers = 2
        return o
    }

    /// N = 1, 3 and 7 shards, by file and by document: the same kept documents, the same
    /// manifest rows (documents, sources, steps, summary) and the same summary as one process.
    @Test(arguments: [false, true]) func phasesEqualOneProcess(keep: Bool) throws {
        let d = TestSupport.tempDir("\(#function)-\(keep)"); defer { TestSupport.cleanup(d) }
        guard let c = try Self.corpus(in: d) else { return }
        var single = Self.options(c, keep: keep)
        single.output = "\(d)/single.jsonl"
        single.manifest = "\(d)/single.sqlite"
        let r = try prune(single) { _ in }
        #expect(r.steps.first { $0.step == .dedup }!.dropped >= 100)
        #expect(r.steps.first { $0.step == .decontaminate }!.dropped >= 10)
        #expect(r.steps.first { $0.step == .nearDup }!.dropped >= 50)
        let want = try ManifestReader(path: single.manifest!)
        let wantLines = outputLines(single.output!)
        for n in [1, 3, 7] {
            for by in [ShardSpec.By.file, .doc] {
                let w = "\(d)/w-\(n)-\(by)"
                var o = Self.options(c, keep: keep)
                for k in 1...n { _ = try prunePhase(.plan(dir: w, shard: ShardSpec(index: k, count: n, by: by)), o) { _ in } }
                _ = try prunePhase(.resolve(dir: w), o) { _ in }
                var parts: [[String]] = []
                for k in 1...n {
                    o.output = "\(w)/part-\(k).jsonl"
                    _ = try prunePhase(.apply(dir: w, shard: ShardSpec(index: k, count: n, by: by)), o) { _ in }
                    parts.append(outputLines(o.output!))
                }
                o.output = nil
                let f = try prunePhase(.finish(dir: w), o) { _ in }
                let got = try ManifestReader(path: "\(w)/manifest.sqlite")
                for t in ["documents", "sources", "steps", "summary"] {
                    #expect(try got.rows(of: t) == want.rows(of: t), "\(t), \(n) shards by \(by)")
                }
                #expect(got.meta["complete"] == "1")
                #expect(f.before == r.before && f.after == r.after, "\(n) by \(by)")
                #expect(f.coverage?.rarestZero == r.coverage?.rarestZero && f.coverage?.unseenTerms == r.coverage?.unseenTerms)
                #expect(f.balanceExpected?.mean == r.balanceExpected?.mean && f.keepCutoff == r.keepCutoff)
                // The same kept records, and each part in input order.
                #expect(parts.flatMap { $0 }.sorted() == wantLines.sorted(), "\(n) by \(by)")
                let position = Dictionary(wantLines.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
                for p in parts { #expect(p.map { position[$0]! } == p.map { position[$0]! }.sorted()) }
            }
        }
    }

    /// A rerun skips complete phases; mixed settings, missing shards and a changed corpus are
    /// refused with exit 65 and nothing is written.
    @Test func rerunsSkipAndMismatchesAreRefused() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        guard let c = try Self.corpus(in: d) else { return }
        let w = "\(d)/w"
        var o = Self.options(c, keep: false)
        let s1 = ShardSpec(index: 1, count: 2, by: .file), s2 = ShardSpec(index: 2, count: 2, by: .file)
        _ = try prunePhase(.plan(dir: w, shard: s1), o) { _ in }
        // Shard 2 is missing.
        #expect(throws: StoreError.self) { try prunePhase(.resolve(dir: w), o) { _ in } }
        #expect(!fileExists("\(w)/resolved.sqlite"))
        #expect(try prunePhase(.plan(dir: w, shard: s1), o) { _ in }.alreadyComplete)
        // Other settings: the plan is refused, not mixed in.
        var other = o
        other.seed = 10
        #expect(throws: StoreError.self) { try prunePhase(.plan(dir: w, shard: s1), other) { _ in } }
        _ = try prunePhase(.plan(dir: w, shard: s2), o) { _ in }
        #expect(throws: StoreError.self) { try prunePhase(.resolve(dir: w), other) { _ in } }
        _ = try prunePhase(.resolve(dir: w), o) { _ in }
        #expect(try prunePhase(.resolve(dir: w), o) { _ in }.alreadyComplete)
        // Finish before every shard is applied.
        o.output = "\(d)/part-1.jsonl"
        _ = try prunePhase(.apply(dir: w, shard: s1), o) { _ in }
        #expect(try prunePhase(.apply(dir: w, shard: s1), o) { _ in }.alreadyComplete)
        o.output = nil
        #expect(throws: StoreError.self) { try prunePhase(.finish(dir: w), o) { _ in } }
        // A shard's output may not be one of the inputs.
        o.output = c.inputs[0]
        #expect(throws: UsageError.self) { try prunePhase(.apply(dir: w, shard: s2), o) { _ in } }
        // --keep hard|easy and --dry-run are single-process.
        var proto = o
        proto.keep = .hard; proto.targetFraction = 0.5
        #expect(throws: PruneUsageError.self) { try prunePhase(.plan(dir: w, shard: s1), proto) { _ in } }
        // A corpus changed after planning (a document appended to the file shard 2 reads).
        o.output = "\(d)/part-2.jsonl"
        let f = c.inputs[1]
        let extra = "\n" + jsonLine(["text": "an appended document"])
        let h = FileHandle(forWritingAtPath: f)!
        h.seekToEndOfFile(); h.write(extra.dropFirst().data(using: .utf8)! + Data("\n".utf8)); h.closeFile()
        #expect(throws: StoreError.self) { try prunePhase(.apply(dir: w, shard: s2), o) { _ in } }
        #expect(!fileExists(o.output!))
    }
}
