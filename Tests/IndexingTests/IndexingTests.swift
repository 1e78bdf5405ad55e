import Foundation
import Testing
import TestSupport
@testable import Indexing
import IndexStore
import CorpusIO

/// Every stored row of an index as "n\tngram" -> (count, df).
func dump(_ path: String) throws -> [String: (UInt64, UInt64)] {
    let r = try IndexReader(path: path)
    var tokens: [UInt32: String] = [:]
    var out: [String: (UInt64, UInt64)] = [:]
    try r.forEachToken { id, bytes, c, df in
        let t = String(decoding: bytes, as: UTF8.self)
        tokens[id] = t
        out["1\t" + t] = (c, df)
    }
    for n in stride(from: 2, through: r.maxOrder, by: 1) {
        try r.forEachNGram(order: n) { ids, c, df in
            out["\(n)\t" + (0..<n).map { tokens[ids[$0]]! }.joined(separator: " ")] = (c, df)
        }
    }
    return out
}

func same(_ a: [String: (UInt64, UInt64)], _ b: [String: (UInt64, UInt64)]) -> Bool {
    a.count == b.count && a.allSatisfy { k, v in b[k].map { $0 == v } ?? false }
}

/// A generated JSONL corpus with many scripts, escapes and numbers.
func writeCorpus(_ path: String, docs: Int, seed: UInt64) -> [String] {
    var rng = SplitMix(seed: seed)
    let words = ["the", "The", "of", "24", "1982", "naïve", "Ωmega", "日本", "x_y", "don't", "e-mail", "İz",
                 "café", "\u{1F642}", "a\tb", "q\"uote", "back\\slash", "line\nbreak", "ЖЖ", "١٢٣"]
    var texts: [String] = []
    var lines: [String] = []
    for i in 0..<docs {
        let n = Int(rng.next() % 40)
        let t = (0..<n).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: rng.next() % 3 == 0 ? ", " : " ")
        texts.append(t)
        let obj: [String: Any] = ["id": i, "meta": ["lang": "x"], "text": t]
        lines.append(String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self))
    }
    TestSupport.write(path, lines.joined(separator: "\n") + "\n")
    return texts
}

func referenceIndex(_ texts: [String], maxOrder: Int, fold: Bool = true) -> [String: (UInt64, UInt64)] {
    TestSupport.referenceCounts(texts.map { TestSupport.referenceTokens($0, fold: fold) }, maxOrder: maxOrder)
}

func options(_ inputs: [String], _ out: String, orders: Int = 3, memory: Int = 64 << 20, jobs: Int = 2) -> IndexOptions {
    var o = IndexOptions(inputs: inputs, output: out)
    o.settings.maxOrder = orders
    o.memoryBytes = memory
    o.jobs = jobs
    return o
}

@Suite struct IndexingTests {
    @Test func indexEqualsAnIndependentCounterOnGeneratedText() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let texts = writeCorpus("\(d)/c.jsonl", docs: 2000, seed: 3)
        TestSupport.zstd("\(d)/c.jsonl", "\(d)/c.jsonl.zst")
        let rep = try buildIndex(options(["\(d)/c.jsonl.zst"], "\(d)/i.sqlite", orders: 4)) { _ in }
        #expect(rep.docs == 2000)
        #expect(same(try dump("\(d)/i.sqlite"), referenceIndex(texts, maxOrder: 4)))
    }

    @Test func indexEqualsAnIndependentCounterOnRealText() throws {
        guard let path = TestSupport.fortunes("jsonl.gz") else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        // Independent path: gunzip with the gzip tool, parse with JSONSerialization.
        let (_, raw, _) = TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(path)'"])
        let texts = raw.split(separator: "\n").map {
            (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["text"] as! String
        }
        _ = try buildIndex(options([path], "\(d)/i.sqlite", orders: 3)) { _ in }
        #expect(same(try dump("\(d)/i.sqlite"), referenceIndex(texts, maxOrder: 3)))
    }

    @Test func forcedSpillingGivesTheSameIndex() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        // Numbers from a skewed distribution: many distinct n-grams, with repeats.
        var rng = SplitMix(seed: 5)
        let lines = (0..<3000).map { _ in (0..<30).map { _ in "\(rng.next() % 50 * (rng.next() % 40))" }.joined(separator: " ") }
        TestSupport.write("\(d)/c.txt", lines.joined(separator: "\n"))
        let a = try buildIndex(options(["\(d)/c.txt"], "\(d)/a.sqlite", memory: 256 << 20)) { _ in }
        let b = try buildIndex(options(["\(d)/c.txt"], "\(d)/b.sqlite", memory: 1 << 20)) { _ in }
        #expect(a.spills == 0)
        #expect(b.spills > 0)
        #expect(same(try dump("\(d)/a.sqlite"), try dump("\(d)/b.sqlite")))
        let sa = try indexStatistics(path: "\(d)/a.sqlite"), sb = try indexStatistics(path: "\(d)/b.sqlite")
        #expect(sa.orders.map(\.types) == sb.orders.map(\.types))
        #expect(sa.orders.map(\.hapax) == sb.orders.map(\.hapax))
    }

    /// The vocabulary counts against --memory: a corpus with more distinct tokens than its share
    /// is indexed in segments (partial indexes written when the vocabulary fills its share, merged
    /// at the end with the vocabularies as sorted streams), and the index equals the one built in a
    /// budget where everything fits, row for row, with unigrams only and with n-grams.
    @Test(arguments: [1, 2]) func aVocabularyBeyondItsBudgetSpillsAsSegments(maxOrder: Int) throws {
        let d = TestSupport.tempDir("\(#function)-\(maxOrder)"); defer { TestSupport.cleanup(d) }
        var rng = SplitMix(seed: 9)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        // 240,000 random words (most distinct) and a few common ones, so n-grams repeat too.
        let common = ["the", "of", "and", "a", "in"]
        let lines = (0..<4000).map { _ in
            (0..<60).map { i in i % 3 == 0 ? common[Int(rng.next() % 5)] : String((0..<6).map { _ in letters[Int(rng.next() % 26)] }) }
                .joined(separator: " ")
        }
        TestSupport.write("\(d)/c.txt", lines.joined(separator: "\n") + "\n")
        var small = options(["\(d)/c.txt"], "\(d)/small.sqlite", orders: maxOrder, memory: 4 << 20)
        small.tempDir = d
        let r = try buildIndex(small) { _ in }
        #expect(r.segments >= 1)
        var big = options(["\(d)/c.txt"], "\(d)/big.sqlite", orders: maxOrder, memory: 512 << 20)
        big.tempDir = d
        let b = try buildIndex(big) { _ in }
        #expect(b.segments == 0)
        #expect(same(try dump("\(d)/big.sqlite"), try dump("\(d)/small.sqlite")))
        let sb = try indexStatistics(path: "\(d)/big.sqlite"), ss = try indexStatistics(path: "\(d)/small.sqlite")
        #expect(sb.docs == ss.docs && sb.tokens == ss.tokens)
        #expect(sb.orders.map(\.types) == ss.orders.map(\.types) && sb.orders.map(\.hapax) == ss.orders.map(\.hapax))
        // Nothing is left in the temp dir.
        #expect(try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.hasPrefix("tailscope-spill-") }.isEmpty)
    }

    @Test func addingSourcesEqualsIndexingThemTogetherAndKnownSourcesAreSkipped() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        _ = writeCorpus("\(d)/a.jsonl", docs: 500, seed: 1)
        _ = writeCorpus("\(d)/b.jsonl", docs: 500, seed: 2)
        _ = try buildIndex(options(["\(d)/a.jsonl", "\(d)/b.jsonl"], "\(d)/both.sqlite")) { _ in }
        _ = try buildIndex(options(["\(d)/a.jsonl"], "\(d)/inc.sqlite")) { _ in }
        let second = try buildIndex(options(["\(d)/a.jsonl", "\(d)/b.jsonl"], "\(d)/inc.sqlite")) { _ in }
        #expect(second.sourcesAlreadyIndexed == ["\(d)/a.jsonl"])
        #expect(same(try dump("\(d)/both.sqlite"), try dump("\(d)/inc.sqlite")))
        #expect(try IndexReader(path: "\(d)/inc.sqlite").meta["docs"] == "1000")
        let third = try buildIndex(options(["\(d)/b.jsonl"], "\(d)/inc.sqlite")) { _ in }
        #expect(!third.wroteIndex)
    }

    @Test(arguments: [ShardSpec.By.file, .doc])
    func shardsMergeIntoTheFullIndex(by: ShardSpec.By) throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let files = (0..<3).map { "\(d)/p\($0).jsonl" }
        for (i, f) in files.enumerated() { _ = writeCorpus(f, docs: 300, seed: UInt64(10 + i)) }
        _ = try buildIndex(options(files, "\(d)/full.sqlite")) { _ in }
        var shards: [String] = []
        for k in 1...3 {
            var o = options(files, "\(d)/s\(k).sqlite")
            o.shard = ShardSpec(index: k, count: 3, by: by)
            _ = try buildIndex(o) { _ in }
            shards.append("\(d)/s\(k).sqlite")
        }
        // One thread or several (each counting its inputs in its own tables, with spills in a
        // small budget), and a merge tree (merged indexes merged again): all equal the full index.
        for jobs in [3, 2] {
            _ = try mergeIndexes(shards, output: "\(d)/merged-\(jobs).sqlite", memoryBytes: 1 << 20, tempDir: "/tmp", jobs: jobs) { _ in }
            #expect(same(try dump("\(d)/full.sqlite"), try dump("\(d)/merged-\(jobs).sqlite")), "jobs \(jobs)")
        }
        _ = try mergeIndexes(Array(shards.prefix(2)), output: "\(d)/m12.sqlite", memoryBytes: 1 << 20, tempDir: "/tmp") { _ in }
        _ = try mergeIndexes(["\(d)/m12.sqlite", shards[2]], output: "\(d)/tree.sqlite", memoryBytes: 1 << 20, tempDir: "/tmp") { _ in }
        #expect(same(try dump("\(d)/full.sqlite"), try dump("\(d)/tree.sqlite")), "merge tree")
        _ = try mergeIndexes(shards, output: "\(d)/merged.sqlite", memoryBytes: 1 << 20, tempDir: "/tmp", jobs: 1) { _ in }
        #expect(same(try dump("\(d)/full.sqlite"), try dump("\(d)/merged.sqlite")))
        let full = try indexStatistics(path: "\(d)/full.sqlite"), merged = try indexStatistics(path: "\(d)/merged.sqlite")
        #expect(full.docs == merged.docs && full.tokens == merged.tokens)
        #expect(full.orders.map(\.hapax) == merged.orders.map(\.hapax))
    }

    /// Real text (the fortunes corpus, split into five files of two formats): 1, 3 and 7 shards,
    /// by file and by document, merged, equal the index of the whole corpus row for row.
    @Test func shardsOfRealTextMergeToTheWholeIndex() throws {
        guard let path = TestSupport.fortunes("jsonl.gz") else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let (rc, out, _) = TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(path)'"])
        #expect(rc == 0)
        let lines = out.split(separator: "\n").map(String.init)
        var files: [String] = []
        let per = lines.count / 5 + 1
        for f in 0..<5 {
            let part = lines[min(lines.count, f * per)..<min(lines.count, (f + 1) * per)]
            if f == 2 {
                // One text file: the documents' text, one per line.
                let texts = part.map { l -> String in
                    let o = try! JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
                    return (o["text"] as! String).replacingOccurrences(of: "\n", with: " ")
                }
                files.append("\(d)/p\(f).txt")
                TestSupport.write(files.last!, texts.joined(separator: "\n") + "\n")
            } else {
                files.append("\(d)/p\(f).jsonl")
                TestSupport.write(files.last!, part.joined(separator: "\n") + "\n")
            }
        }
        _ = try buildIndex(options(files, "\(d)/full.sqlite", orders: 2)) { _ in }
        let full = try dump("\(d)/full.sqlite")
        #expect(full.count > 10_000)
        for n in [1, 3, 7] {
            for by in [ShardSpec.By.file, .doc] {
                var shards: [String] = []
                for k in 1...n {
                    var o = options(files, "\(d)/s-\(n)-\(by)-\(k).sqlite", orders: 2)
                    o.shard = ShardSpec(index: k, count: n, by: by)
                    _ = try buildIndex(o) { _ in }
                    shards.append(o.output)
                }
                _ = try mergeIndexes(shards, output: "\(d)/m-\(n)-\(by).sqlite", memoryBytes: 64 << 20, tempDir: d, jobs: 2) { _ in }
                #expect(same(full, try dump("\(d)/m-\(n)-\(by).sqlite")), "\(n) shards by \(by)")
            }
        }
    }

    @Test func mergeRefusesDifferentSettingsAndDoubleCountedSources() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        _ = writeCorpus("\(d)/a.jsonl", docs: 50, seed: 1)
        _ = try buildIndex(options(["\(d)/a.jsonl"], "\(d)/x.sqlite")) { _ in }
        _ = try buildIndex(options(["\(d)/a.jsonl"], "\(d)/y.sqlite")) { _ in }
        _ = try buildIndex(options(["\(d)/a.jsonl"], "\(d)/o2.sqlite", orders: 2)) { _ in }
        #expect(throws: IndexingError.self) {
            _ = try mergeIndexes(["\(d)/x.sqlite", "\(d)/o2.sqlite"], output: "\(d)/m1.sqlite", memoryBytes: 1 << 24, tempDir: "/tmp") { _ in }
        }
        #expect(throws: IndexingError.self) {
            _ = try mergeIndexes(["\(d)/x.sqlite", "\(d)/y.sqlite"], output: "\(d)/m2.sqlite", memoryBytes: 1 << 24, tempDir: "/tmp") { _ in }
        }
        #expect(!fileExists("\(d)/m1.sqlite") && !fileExists("\(d)/m2.sqlite"))
        // Extending an index with other settings is refused too.
        var o = options(["\(d)/a.jsonl"], "\(d)/x.sqlite")
        o.settings.tokenizer.caseFold = false
        #expect(throws: IndexingError.self) { _ = try buildIndex(o) { _ in } }
    }

    @Test func badInputStopsWithoutWritingAnIndexOrIsSkippedAndCounted() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/bad.jsonl", "{\"text\": \"fine words\"}\n{\"text\": nope}\n{\"other\": 1}\n")
        TestSupport.write("\(d)/empty.jsonl", "")
        TestSupport.write("\(d)/bin.txt", bytes: [0x61, 0xFF, 0x62, 0x0A])
        #expect(throws: InputError.self) { _ = try buildIndex(options(["\(d)/bad.jsonl"], "\(d)/i.sqlite")) { _ in } }
        #expect(!fileExists("\(d)/i.sqlite"))
        var o = options(["\(d)/bad.jsonl", "\(d)/empty.jsonl", "\(d)/bin.txt"], "\(d)/i.sqlite")
        o.onError = .skip
        _ = try buildIndex(o) { _ in }
        let s = try indexStatistics(path: "\(d)/i.sqlite")
        #expect(s.skipped == ["invalid_json": 1, "missing_field": 1, "empty_file": 1])
        #expect(s.replacedInvalidUTF8 == 1)
        #expect(s.docs == 2)
        #expect(try countTerms(path: "\(d)/i.sqlite", queries: ["fine words", "a", "b"]).map(\.count) == [1, 1, 1])
    }

    @Test func queriesUseTheIndexTokenizerAndReportLongPhrases() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        TestSupport.write("\(d)/t.txt", "The United States of America\nthe united-states\nIn 1982 24 people\n")
        _ = try buildIndex(options(["\(d)/t.txt"], "\(d)/i.sqlite", orders: 2)) { _ in }
        let r = try countTerms(path: "\(d)/i.sqlite", queries: ["THE UNITED", "united  states", "24", "25", "of america x", "!!"])
        #expect(r.map(\.count) == [2, 2, 1, 0, nil, nil])
        #expect(r[1].df == 2)
        #expect(r[4].note?.contains("up to 2") == true)
        let top = try topNGrams(path: "\(d)/i.sqlite", order: 2, limit: 2, bottom: false)
        #expect(top.map(\.ngram) == ["the united", "united states"])
        let bottom = try topNGrams(path: "\(d)/i.sqlite", order: 1, limit: 3, bottom: true)
        #expect(bottom.allSatisfy { $0.count == 1 })
    }

    /// Unigram indexes count on one lane per job, each with its own vocabulary, merged in token
    /// order at the end: any job count gives the same rows, ids, sources and summaries.
    @Test func unigramIndexIsTheSameForAnyJobCount() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var texts = writeCorpus("\(d)/a.jsonl", docs: 700, seed: 21)
        texts += writeCorpus("\(d)/b.jsonl", docs: 400, seed: 22)
        TestSupport.gzip("\(d)/b.jsonl", "\(d)/b.jsonl.gz")
        // Text with invalid UTF-8 spread over many batches.
        var raw: [UInt8] = []
        for i in 0..<300 { raw += Array("line \(i) café".utf8) + (i % 3 == 0 ? [0xFF, 0x7A] : []) + [0x0A] }
        TestSupport.write("\(d)/c.txt", bytes: raw)
        let inputs = ["\(d)/a.jsonl", "\(d)/b.jsonl.gz", "\(d)/c.txt"]
        var runs: [(vocab: [(UInt32, [UInt8], UInt64, UInt64)], sources: [SourceRecord], top: [String])] = []
        for jobs in [1, 2, 3] {
            var o = options(inputs, "\(d)/j\(jobs).sqlite", orders: 1, jobs: jobs)
            o.batchBytes = 1024
            let rep = try buildIndex(o) { _ in }
            #expect(rep.docs == 1100 + 300)
            let r = try IndexReader(path: "\(d)/j\(jobs).sqlite")
            var rows: [(UInt32, [UInt8], UInt64, UInt64)] = []
            try r.forEachToken { id, bytes, c, df in rows.append((id, Array(bytes), c, df)) }
            rows.sort { $0.0 < $1.0 }
            let top = try topNGrams(path: "\(d)/j\(jobs).sqlite", order: 1, limit: 50, bottom: false)
            runs.append((rows, try r.sources(), top.map { "\($0.ngram) \($0.count) \($0.df)" }))
        }
        // Ids are dense and follow the tokens' byte order.
        let ids = runs[0].vocab.map(\.0)
        #expect(ids == Array(0..<UInt32(ids.count)))
        for k in 1..<ids.count { #expect(runs[0].vocab[k - 1].1.lexicographicallyPrecedes(runs[0].vocab[k].1)) }
        // Counts equal an independent counter (the invalid bytes decode to U+FFFD, a separator).
        let textLines = String(decoding: raw, as: UTF8.self).split(separator: "\n").map(String.init)
        let ref = referenceIndex(texts + textLines, maxOrder: 1)
        #expect(same(try dump("\(d)/j1.sqlite"), ref))
        for run in runs.dropFirst() {
            #expect(run.vocab.elementsEqual(runs[0].vocab) { $0.0 == $1.0 && $0.1 == $1.1 && $0.2 == $1.2 && $0.3 == $1.3 })
            #expect(run.top == runs[0].top)
            #expect(run.sources.map(\.path) == runs[0].sources.map(\.path))
            #expect(run.sources.map(\.tokens) == runs[0].sources.map(\.tokens))
            #expect(run.sources.map(\.docs) == runs[0].sources.map(\.docs))
            #expect(run.sources.map(\.replacedInvalidUTF8) == runs[0].sources.map(\.replacedInvalidUTF8))
            #expect(run.sources.map(\.checksum) == runs[0].sources.map(\.checksum))
        }
        #expect(runs[0].sources.map(\.replacedInvalidUTF8) == [0, 0, 100])
        #expect(runs[0].sources.map(\.tokens).reduce(0, +) == Int64(ref.values.reduce(0) { $0 + $1.0 }))
        // Extending a unigram index with more sources equals indexing them together.
        var first = options(["\(d)/a.jsonl"], "\(d)/inc.sqlite", orders: 1, jobs: 2)
        first.batchBytes = 1024
        _ = try buildIndex(first) { _ in }
        var more = options(inputs, "\(d)/inc.sqlite", orders: 1, jobs: 2)
        more.batchBytes = 1024
        let rep = try buildIndex(more) { _ in }
        #expect(rep.sourcesAlreadyIndexed == ["\(d)/a.jsonl"])
        #expect(same(try dump("\(d)/inc.sqlite"), ref))
    }

    /// A bad line in a later batch stops a multi-lane unigram run with its file and line, and no
    /// index; with --on-error skip it is counted.
    @Test func badInputInAnyLaneStopsOrIsCounted() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var lines = (0..<400).map { "{\"text\": \"doc \($0) words\"}" }
        lines[333] = "{\"text\": broken"
        TestSupport.write("\(d)/c.jsonl", lines.joined(separator: "\n") + "\n")
        var o = options(["\(d)/c.jsonl"], "\(d)/i.sqlite", orders: 1, jobs: 2)
        o.batchBytes = 256
        #expect(throws: InputError.self) { _ = try buildIndex(o) { _ in } }
        do {
            _ = try buildIndex(o) { _ in }
        } catch let e as InputError {
            #expect(e.line == 334)
            #expect(e.path == "\(d)/c.jsonl")
        }
        #expect(!fileExists("\(d)/i.sqlite"))
        o.onError = .skip
        let rep = try buildIndex(o) { _ in }
        #expect(rep.docs == 399)
        let s = try indexStatistics(path: "\(d)/i.sqlite")
        #expect(s.skipped == ["invalid_json": 1])
        #expect(try countTerms(path: "\(d)/i.sqlite", queries: ["words", "333", "334"]).map(\.count) == [399, 0, 1])
    }
}
