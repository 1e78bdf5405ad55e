import CorpusIO
import Evaluation
@testable import Curation
import Foundation
import Indexing
import IndexStore
import Testing
import TestSupport
import Tokenization

/// Real text: the fortunes corpus that `datasets/fetch_fortunes.sh` obtains from Debian.
func fortuneTexts(limit: Int = .max) -> [String]? {
    guard let path = TestSupport.fortunes("jsonl.zst") else { return nil }
    let (rc, out, _) = TestSupport.run("/bin/sh", ["-c", "zstd -dc '\(path)'"])
    guard rc == 0 else { return nil }
    var texts: [String] = []
    for line in out.split(separator: "\n") where texts.count < limit {
        let o = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        texts.append(o["text"] as! String)
    }
    return texts
}

func jsonLine(_ fields: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
}

/// Decompresses (by suffix) and splits a file into lines.
func outputLines(_ path: String) -> [String] {
    let cmd = path.hasSuffix(".zst") ? "zstd -dc '\(path)'" : path.hasSuffix(".gz") ? "gzip -dc '\(path)'" : "cat '\(path)'"
    let (rc, out, err) = TestSupport.run("/bin/sh", ["-c", cmd])
    precondition(rc == 0, err)
    return out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
}

func shingles(_ toks: [String], _ k: Int) -> Set<String> {
    if toks.isEmpty { return [] }
    if toks.count < k { return [toks.joined(separator: " ")] }
    return Set((0...(toks.count - k)).map { toks[$0..<($0 + k)].joined(separator: " ") })
}

func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
    a.isEmpty && b.isEmpty ? 1 : Double(a.intersection(b).count) / Double(a.union(b).count)
}

/// Writes `texts` as `dir/c.jsonl` and indexes them into `dir/i.sqlite`.
func writeAndIndex(_ texts: [String], in dir: String, maxOrder: Int) throws {
    TestSupport.write("\(dir)/c.jsonl", texts.map { jsonLine(["text": $0]) }.joined(separator: "\n") + "\n")
    var io = IndexOptions(inputs: ["\(dir)/c.jsonl"], output: "\(dir)/i.sqlite")
    io.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: maxOrder, minCount: 1)
    io.tempDir = dir
    _ = try buildIndex(io) { _ in }
}

@Suite struct PruneTests {
    /// Planted duplicates (changed only in case, punctuation and spacing) and planted leaks of
    /// eval questions in real text: the decisions equal a brute-force pass with Swift sets, and
    /// the output holds exactly the kept JSONL lines, byte for byte, in input order.
    @Test func exactDedupAndDecontaminationAreExact() throws {
        guard let texts = fortuneTexts(limit: 3000) else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var rng = SplitMix(seed: 11)
        // Eval questions: sentences of 14+ tokens cut from fortunes 0..<40 (those documents leak).
        var questions: [String] = []
        for t in texts.prefix(400) where questions.count < 40 {
            let words = t.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            if words.count >= 16 { questions.append(words.prefix(16).joined(separator: " ")) }
        }
        var docs: [String] = []
        for (i, t) in texts.enumerated() {
            docs.append(t)
            let r = rng.next() % 100
            if r < 4, i > 0 {
                // A duplicate of an earlier document, up to case, punctuation and spacing.
                let src = docs[Int(rng.next() % UInt64(docs.count))]
                docs.append("  " + src.uppercased().replacingOccurrences(of: " ", with: " ,  ") + " !")
            } else if r < 6 {
                // A leak: a question inside another text.
                docs.append("As reported, " + questions[Int(rng.next() % UInt64(questions.count))].lowercased() + " and so on.")
            } else if r < 7 {
                // 12 tokens of a question: too short to count as a leak.
                let q = questions[Int(rng.next() % UInt64(questions.count))].split(separator: " ")
                docs.append(q.prefix(12).joined(separator: " ") + " -- but then something else entirely")
            }
        }
        let lines = docs.enumerated().map { jsonLine(["id": "d\($0.offset)", "text": $0.element, "meta": ["n": $0.offset]]) }
        TestSupport.write("\(d)/c.jsonl", lines.joined(separator: "\n") + "\n")
        TestSupport.zstd("\(d)/c.jsonl", "\(d)/c.jsonl.zst")
        TestSupport.write("\(d)/eval.jsonl", questions.map { jsonLine(["question": $0, "answer": "x"]) }.joined(separator: "\n") + "\n")

        var o = PruneOptions(inputs: ["\(d)/c.jsonl.zst"])
        o.output = "\(d)/out.jsonl.zst"
        o.manifest = "\(d)/m.sqlite"
        o.dedupExact = true
        o.decontaminate = ["\(d)/eval.jsonl"]
        o.workers = 2
        let r = try prune(o) { _ in }

        // Brute force.
        var seen: [String: Int] = [:]
        var grams = Set<[String]>()
        for q in questions + ["x"] {
            let t = TestSupport.referenceTokens(q)
            if t.count >= 13 { for i in 0...(t.count - 13) { grams.insert(Array(t[i..<(i + 13)])) } }
        }
        var expected: [(String?, Int64?)] = []
        for (i, doc) in docs.enumerated() {
            let toks = TestSupport.referenceTokens(doc)
            let key = toks.joined(separator: " ")
            if let f = seen[key] { expected.append(("dedup", Int64(f))); continue }
            seen[key] = i
            let leak = toks.count >= 13 && (0...(toks.count - 13)).contains { grams.contains(Array(toks[$0..<($0 + 13)])) }
            expected.append(leak ? ("decontaminate", nil) : (nil, nil))
        }
        let got = try ManifestReader(path: "\(d)/m.sqlite").decisions()
        #expect(got.count == docs.count)
        var mismatches = 0
        for (g, e) in zip(got, expected) where g.step != e.0 || (e.0 == "dedup" && g.matchDoc != e.1) { mismatches += 1 }
        #expect(mismatches == 0)
        let dups = expected.filter { $0.0 == "dedup" }.count, leaks = expected.filter { $0.0 == "decontaminate" }.count
        #expect(dups > 50 && leaks > 50, "planted \(dups) duplicates, \(leaks) leaks")
        #expect(r.steps.map(\.dropped) == [Int64(dups), Int64(leaks)])
        let keptLines = zip(lines, expected).filter { $0.1.0 == nil }.map(\.0)
        #expect(outputLines("\(d)/out.jsonl.zst") == keptLines)
        #expect(r.after.docs == Int64(keptLines.count))
        #expect(r.after.bytes == Int64(keptLines.reduce(0) { $0 + $1.utf8.count + 1 }))
        // Types and hapax of before and after, from the reference tokenizer.
        func typesHapax(_ ds: [String]) -> (Int64, Int64) {
            var c: [String: Int] = [:]
            for doc in ds { for t in TestSupport.referenceTokens(doc) { c[t, default: 0] += 1 } }
            return (Int64(c.count), Int64(c.values.filter { $0 == 1 }.count))
        }
        let b = typesHapax(docs), a = typesHapax(zip(docs, expected).filter { $0.1.0 == nil }.map(\.0))
        #expect((r.before.types, r.before.hapax) == b)
        #expect((r.after.types, r.after.hapax) == a)
        // No temporary files are left beside the outputs.
        let left = try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty)
    }

    /// Near duplicates made by replacing 0-11% of the words of real text: recall and precision
    /// of the MinHash/LSH step against exact Jaccard similarity of the shingle sets.
    @Test func nearDupRecallAndPrecisionAgainstExactJaccard() throws {
        guard let texts = fortuneTexts() else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let base = texts.filter { TestSupport.referenceTokens($0).count >= 60 }.prefix(200)
        var rng = SplitMix(seed: 5)
        var docs: [String] = []
        for t in base {
            docs.append(t)
            for _ in 0..<3 {
                var words = t.split(separator: " ").map(String.init)
                let rate = Double(rng.next() % 12) / 100
                for i in words.indices where Double(rng.next() % 1000) / 1000 < rate { words[i] = "edit\(rng.next() % 100000)" }
                docs.append(words.joined(separator: " "))
            }
        }
        TestSupport.write("\(d)/c.jsonl", docs.map { jsonLine(["text": $0]) }.joined(separator: "\n") + "\n")
        let t = 0.7
        var o = PruneOptions(inputs: ["\(d)/c.jsonl"])
        o.nearDup = t
        o.dryRun = true
        o.manifest = "\(d)/m.sqlite"
        o.seed = 3
        _ = try prune(o) { _ in }
        let got = try ManifestReader(path: "\(d)/m.sqlite").decisions()
        let sh = docs.map { shingles(TestSupport.referenceTokens($0), 5) }
        // Truth relative to the documents the step kept: a document is a near duplicate when some
        // earlier kept document has exact Jaccard >= t.
        var kept: [Int] = []
        var tp = 0, fn = 0, fp = 0, clearMissed = 0, clearWrong = 0
        for i in docs.indices {
            let best = kept.map { jaccard(sh[i], sh[$0]) }.max() ?? 0
            let dropped = got[i].step == "near-dup"
            if dropped {
                let j = jaccard(sh[i], sh[Int(got[i].matchDoc!)])
                if j >= t { tp += 1 } else { fp += 1 }
                if j < t - 0.15 { clearWrong += 1 }
            } else {
                if best >= t { fn += 1 }
                if best >= t + 0.15 { clearMissed += 1 }
                kept.append(i)
            }
        }
        let recall = Double(tp) / Double(max(1, tp + fn)), precision = Double(tp) / Double(max(1, tp + fp))
        print("near-dup T=\(t): recall \(recall), precision \(precision) (tp \(tp), fn \(fn), fp \(fp))")
        // Estimates have a standard error of about 0.04 at these sizes, so documents near the
        // threshold go either way; those clearly above or below it must not.
        #expect(tp > 150)
        #expect(recall >= 0.85 && precision >= 0.9, "recall \(recall), precision \(precision)")
        #expect(clearMissed == 0 && clearWrong == 0, "missed \(clearMissed) with J >= T+0.15, dropped \(clearWrong) with J < T-0.15")
    }

    @Test func bandsAndRowsFavourRecall() {
        for (t, perms) in [(0.5, 128), (0.7, 128), (0.8, 128), (0.9, 256)] {
            let p = MinHashParams(threshold: t, shingle: 5, perms: perms, seed: 0)
            #expect(p.bands * p.rows <= perms)
            // Pairs clearly above the threshold become candidates; pairs far below rarely do.
            #expect(MinHashParams.candidateProbability(min(1, t + 0.1), bands: p.bands, rows: p.rows) > 0.98)
            #expect(MinHashParams.candidateProbability(t - 0.3, bands: p.bands, rows: p.rows) < 0.3)
        }
    }

    /// MetaCLIP balancing on real text: the number kept matches the expectation
    /// sum over documents of 1 - prod_e (1 - min(1, T/c_e)) (recomputed here by brute force from
    /// document frequencies and entry matches) within sampling error, for the index's unigrams
    /// and for an --entries file of frequent words and phrases; equal seeds give identical output.
    @Test func balanceMatchesExpectationAndIsSeeded() throws {
        guard let texts = fortuneTexts(limit: 2500) else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        try writeAndIndex(texts, in: d, maxOrder: 2)
        let toks = texts.map { TestSupport.referenceTokens($0) }
        // Entries: the 150 most frequent words that are not stopwords, and 20 frequent bigrams.
        var wc: [String: Int] = [:], bc: [String: Int] = [:]
        for t in toks {
            for w in t where !defaultStopwords.contains(w) { wc[w, default: 0] += 1 }
            if t.count >= 2 { for i in 0..<(t.count - 1) { bc[t[i] + " " + t[i + 1], default: 0] += 1 } }
        }
        let words = wc.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(150).map(\.key)
        let bigrams = bc.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(20).map(\.key)
        TestSupport.write("\(d)/entries.txt", (words + bigrams.map { $0.uppercased() }).joined(separator: "\n") + "\n")
        let entryToks = (words + bigrams).map { $0.split(separator: " ").map(String.init) }

        func contains(_ t: [String], _ e: [String]) -> Bool {
            t.count >= e.count && (0...(t.count - e.count)).contains { Array(t[$0..<($0 + e.count)]) == e }
        }
        for (T, entries) in [(30.0, nil as [[String]]?), (40.0, entryToks)] {
            func run(_ seed: UInt64, _ out: String) throws -> PruneReport {
                var o = PruneOptions(inputs: ["\(d)/c.jsonl"])
                o.index = "\(d)/i.sqlite"
                o.balance = T
                o.entriesFile = entries == nil ? nil : "\(d)/entries.txt"
                o.seed = seed
                o.output = out
                return try prune(o) { _ in }
            }
            let r1 = try run(7, "\(d)/a.jsonl")
            _ = try run(7, "\(d)/b.jsonl")
            _ = try run(8, "\(d)/c8.jsonl")
            var mean = 0.0, variance = 0.0
            if let entries {
                let df = entries.map { e in Double(toks.filter { contains($0, e) }.count) }
                for t in toks {
                    var miss = 1.0
                    for (e, c) in zip(entries, df) where contains(t, e) { miss *= 1 - min(1, T / c) }
                    let p = 1 - miss
                    mean += p; variance += p * (1 - p)
                }
            } else {
                var df: [String: Double] = [:]
                for t in toks { for w in Set(t) { df[w, default: 0] += 1 } }
                for t in toks where !t.isEmpty {
                    var miss = 1.0
                    for w in Set(t) { miss *= 1 - min(1, T / df[w]!) }
                    mean += 1 - miss
                    variance += (1 - miss) * miss
                }
            }
            let kept = Double(r1.after.docs)
            #expect(abs(r1.balanceExpected!.mean - mean) < 1e-6 * max(1, mean), "T \(T)")
            #expect(abs(kept - mean) <= 4 * variance.squareRoot(), "kept \(kept), expected \(mean) ± \(variance.squareRoot())")
            if entries != nil { #expect(kept < Double(texts.count) * 0.8) }   // frequent entries: balancing bites
            #expect(TestSupport.read("\(d)/a.jsonl") == TestSupport.read("\(d)/b.jsonl"))
            #expect(TestSupport.read("\(d)/a.jsonl") != TestSupport.read("\(d)/c8.jsonl"))
        }
    }

    /// --keep tail keeps the documents with the lowest mean log10(1+count) over their 5 rarest
    /// distinct content terms, computed here independently; --keep head the highest.
    @Test func keepTailAndHeadSelectByScore() throws {
        guard let texts = fortuneTexts(limit: 1500) else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        try writeAndIndex(texts, in: d, maxOrder: 1)
        let toks = texts.map { TestSupport.referenceTokens($0) }
        var count: [String: Double] = [:]
        for t in toks { for w in t { count[w, default: 0] += 1 } }
        let stop = defaultStopwords
        let scores: [Double] = toks.map { t -> Double in
            let c = Set(t).filter { !stop.contains($0) }.map { count[$0]! }.sorted()
            guard !c.isEmpty else { return Double.nan }
            let k = Array(c.prefix(5))
            return k.map { log10(1 + $0) }.reduce(0, +) / Double(k.count)
        }
        for mode in [KeepMode.tail, .head] {
            var o = PruneOptions(inputs: ["\(d)/c.jsonl"])
            o.index = "\(d)/i.sqlite"
            o.keep = mode
            o.targetFraction = 0.3
            o.manifest = "\(d)/m-\(mode).sqlite"
            o.dryRun = true
            let r = try prune(o) { _ in }
            let want = Int(0.3 * Double(texts.count))
            #expect(r.after.docs == Int64(want))
            let order = texts.indices.sorted { a, b in
                let x = scores[a], y = scores[b]
                if x.isNaN != y.isNaN { return !x.isNaN }
                if !x.isNaN && abs(x - y) > 1e-6 { return mode == .tail ? x < y : x > y }
                return a < b
            }
            let got = try ManifestReader(path: o.manifest!).decisions()
            let keptSet = Set(got.filter { $0.step == nil }.map { Int($0.doc) })
            // Equal scores (up to float rounding) may order either way at the cutoff.
            let cutoff = scores[order[want - 1]]
            for i in order.prefix(want) where abs(scores[i] - cutoff) > 1e-5 { #expect(keptSet.contains(i)) }
            for i in order.dropFirst(want) where abs(scores[i] - cutoff) > 1e-5 || scores[i].isNaN { #expect(!keptSet.contains(i)) }
            // The kept corpus's vocabulary (counted in the second pass).
            var c: [String: Int] = [:]
            for i in keptSet { for w in toks[i] { c[w, default: 0] += 1 } }
            #expect(r.after.types == Int64(c.count) && r.after.hapax == Int64(c.values.filter { $0 == 1 }.count))
            #expect(r.after.tokens == Int64(keptSet.reduce(0) { $0 + toks[$1].count }))
        }
    }

    /// --keep hard|easy: each document's score in the manifest equals an independent hashed
    /// TF-IDF vector's cosine distance to the nearest stored prototype, and the kept documents
    /// are the farthest (hard) or nearest (easy) ones.
    @Test func keepHardAndEasyScoreByDistanceToPrototypes() throws {
        guard let texts = fortuneTexts(limit: 1200) else { return }
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        try writeAndIndex(texts, in: d, maxOrder: 1)
        let toks = texts.map { TestSupport.referenceTokens($0) }
        var df: [String: Double] = [:]
        for t in toks { for w in Set(t) { df[w, default: 0] += 1 } }
        let n = Double(texts.count), dims = Prototypes.dims
        // Unit vectors: tf x (ln((1+N)/(1+df)) + 1) summed into signed hash buckets.
        let vectors: [[Double]?] = toks.map { t in
            var v = [Double](repeating: 0, count: dims)
            for w in t where !defaultStopwords.contains(w) {
                let h = Array(w.utf8).withUnsafeBytes { hashBytes64($0, seed: 0x243F_6A88_85A3_08D3) }
                let idf = log((1 + n) / (1 + df[w]!)) + 1
                v[Int((h >> 32) & UInt64(dims - 1))] += h >> 63 == 0 ? idf : -idf
            }
            let s = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return s > 0 ? v.map { $0 / s } : nil
        }
        for mode in [KeepMode.hard, .easy] {
            var o = PruneOptions(inputs: ["\(d)/c.jsonl"])
            o.index = "\(d)/i.sqlite"
            o.keep = mode
            o.clusters = 7
            o.seed = 3
            o.targetFraction = 0.4
            o.manifest = "\(d)/m-\(mode).sqlite"
            o.dryRun = true
            let r = try prune(o) { _ in }
            let m = try ManifestReader(path: o.manifest!)
            let protos = try m.prototypes()
            #expect(protos.count == 7)
            #expect(protos.reduce(0) { $0 + $1.size } == vectors.compactMap { $0 }.count, "every document with content terms is sampled")
            #expect(r.prototypes?.sampled == vectors.compactMap { $0 }.count)
            let stored = try m.scores()
            var expected: [Double] = []
            for (i, v) in vectors.enumerated() {
                guard let v else {
                    #expect(stored[i] == nil)
                    expected.append(.nan)
                    continue
                }
                let best = protos.map { p in zip(v, p.centroid).reduce(0) { $0 + $1.0 * Double($1.1) } }.max()!
                expected.append(1 - best)
                #expect(abs(stored[i]! - (1 - best)) < 1e-4, "doc \(i)")
            }
            let want = Int(0.4 * n)
            #expect(r.after.docs == Int64(want))
            let kept = Set(try m.decisions().filter { $0.step == nil }.map { Int($0.doc) })
            let order = expected.indices.filter { !expected[$0].isNaN }.sorted {
                mode == .hard ? expected[$0] > expected[$1] : expected[$0] < expected[$1]
            }
            let cutoff = expected[order[want - 1]]
            for i in order.prefix(want) where abs(expected[i] - cutoff) > 1e-4 { #expect(kept.contains(i)) }
            for i in order.dropFirst(want) where abs(expected[i] - cutoff) > 1e-4 { #expect(!kept.contains(i)) }
        }
    }

    @Test func prototypeSampleHoldsTheSmallestPriorities() {
        var rng = SplitMix64(state: 5)
        var sample = PrototypeSample(capacity: 50, dims: 2)
        var all: [(Double, Int64)] = []
        for doc in 0..<Int64(1000) {
            let u = Double(rng.next() >> 11) * 0x1p-53
            all.append((u, doc))
            let v: [Float] = [Float(doc), -Float(doc)]
            v.withUnsafeBufferPointer { sample.offer(doc: doc, priority: u, vector: $0.baseAddress!) }
        }
        let (x, docs) = sample.rows()
        #expect(docs == all.sorted { $0.0 < $1.0 }.prefix(50).map(\.1).sorted())
        #expect(x == docs.flatMap { [Float($0), -Float($0)] })
    }

    /// Text in, text or JSONL out; gzip output; JSONL cannot become text.
    @Test func formatsAndCompression() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        let paras = ["First \"quoted\" para\nwith two lines\tand a tab", "second para", "First \"quoted\" para\nwith two lines\tand a tab", "third \\ one"]
        TestSupport.write("\(d)/c.txt", paras.joined(separator: "\n\n") + "\n")
        var o = PruneOptions(inputs: ["\(d)/c.txt"])
        o.read.docPer = .paragraph
        o.dedupExact = true
        o.output = "\(d)/o.txt.gz"
        _ = try prune(o) { _ in }
        let (_, txt, _) = TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(d)/o.txt.gz'"])
        #expect(txt == [paras[0], paras[1], paras[3]].map { $0 + "\n\n" }.joined())
        o.output = "\(d)/o.jsonl.zst"
        _ = try prune(o) { _ in }
        let back = outputLines("\(d)/o.jsonl.zst").map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String])["text"]! }
        #expect(back == [paras[0], paras[1], paras[3]])
        var j = PruneOptions(inputs: ["\(d)/o.jsonl.zst"])
        j.dedupExact = true
        j.output = "\(d)/back.txt"
        #expect(throws: PruneUsageError.self) { try prune(j) { _ in } }
    }

    /// Bad input: a truncated zstd file stops with its name and writes nothing; with --on-error
    /// skip, malformed lines are counted and the rest is kept.
    @Test func badInputWritesNothingOrSkips() throws {
        let d = TestSupport.tempDir(); defer { TestSupport.cleanup(d) }
        var lines: [String] = []
        for i in 0..<3000 { lines.append(jsonLine(["text": "document number \(i) with words \(i % 17) and \(i % 101)"])) }
        TestSupport.write("\(d)/c.jsonl", lines.joined(separator: "\n") + "\n")
        TestSupport.zstd("\(d)/c.jsonl", "\(d)/c.jsonl.zst")
        let full = TestSupport.read("\(d)/c.jsonl.zst")
        TestSupport.write("\(d)/cut.jsonl.zst", bytes: Array(full.prefix(full.count / 2)))
        var o = PruneOptions(inputs: ["\(d)/cut.jsonl.zst"])
        o.dedupExact = true
        o.output = "\(d)/o.jsonl.zst"
        o.manifest = "\(d)/m.sqlite"
        do {
            _ = try prune(o) { _ in }
            Issue.record("a truncated input must fail")
        } catch let e as InputError {
            #expect(e.kind == .truncated && e.path.hasSuffix("cut.jsonl.zst"))
        }
        #expect(!FileManager.default.fileExists(atPath: "\(d)/o.jsonl.zst"))
        #expect(!FileManager.default.fileExists(atPath: "\(d)/m.sqlite"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: d).filter { $0.contains(".tmp-") }.isEmpty)

        TestSupport.write("\(d)/bad.jsonl", lines[0..<10].joined(separator: "\n") + "\n{\"text\": broken\n{\"other\": 1}\n" + lines[10..<20].joined(separator: "\n") + "\n")
        var s = PruneOptions(inputs: ["\(d)/bad.jsonl"])
        s.dedupExact = true
        s.output = "\(d)/s.jsonl"
        do {
            _ = try prune(s) { _ in }
            Issue.record("a malformed line must stop the run by default")
        } catch let e as InputError {
            #expect(e.line == 11)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(d)/s.jsonl"))
        s.read.onError = .skip
        let r = try prune(s) { _ in }
        #expect(r.skipped == ["invalid_json": 1, "missing_field": 1])
        #expect(outputLines("\(d)/s.jsonl") == Array(lines[0..<20]))
    }
}
