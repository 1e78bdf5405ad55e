import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import CorpusIO
import Evaluation
import Indexing
import IndexStore
@testable import Report
import Statistics
import Tokenization
import TestSupport

/// A corpus where numbers have very different frequencies, and two eval files: one with
/// correctness (two models), one without.
private func fixture(_ dir: String) throws -> (index: String, scored: String, plain: String) {
    var rng = Xoshiro256(seed: 3)
    let words = ["the", "river", "runs", "past", "old", "mill", "and", "into", "sea", "boat"]
    var docs: [String] = []
    for i in 0..<600 {
        var d = (0..<(5 + Int(rng.next(upperBound: UInt64(20))))).map { _ in words[Int(rng.next(upperBound: UInt64(words.count)))] }
        // Number k appears in about 600 / k documents.
        for k in 1...60 where i % k == 0 { d.append("\(k)") }
        docs.append(d.joined(separator: " "))
    }
    docs.append("a planted passage the quick brown fox jumps over the lazy dog near the river bank today")
    let index = try buildTestIndex(dir, docs: docs, orders: 2)
    var scored = "", plain = ""
    for q in 0..<160 {
        let a = 1 + Int(rng.next(upperBound: UInt64(60))), b = 1 + Int(rng.next(upperBound: UInt64(99)))
        let x = log10(Double(600 / a) + 1)
        for model in ["small", "large"] {
            let p = 1 / (1 + exp(-(-1.0 + (model == "large" ? 1.4 : 0.8) * x)))
            let correct = Double(rng.next() >> 11) / 9007199254740992 < p
            scored += "{\"question\": \"What is \(a) plus \(b)?\", \"answer\": \"\(a + b)\", \"model\": \"\(model)\", \"correct\": \(correct), \"id\": \"q\(q)\"}\n"
        }
        plain += "{\"question\": \"How many boats pass the \(a) mills?\", \"answer\": \"\(q % 3 == 0 ? "zebra" : "\(a)")\"}\n"
    }
    plain += "{\"question\": \"the quick brown fox jumps over the lazy dog near the river bank today\", \"answer\": \"fox\"}\n"
    TestSupport.write(dir + "/scored.jsonl", scored)
    TestSupport.write(dir + "/plain.jsonl", plain)
    return (index, dir + "/scored.jsonl", dir + "/plain.jsonl")
}

@Suite struct ReportTests {
    @Test func numbersEqualStatsCountAndCorrelate() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let (index, scored, _) = try fixture(dir)
        var c = CorrelateOptions(index: index, evals: [scored])
        c.fields.groupBy = ["model"]
        c.terms = [.numbers]
        c.bootstrap = 200
        c.seed = 9
        let rep = try buildTailReport(ReportOptions(features: c)) { _ in }
        // Corpus numbers are those of `stats`.
        let stats = try indexStatistics(path: index)
        #expect(rep.stats.docs == stats.docs && rep.stats.tokens == stats.tokens)
        #expect(rep.stats.zipfMLE?.exponent == stats.zipfMLE?.exponent && rep.stats.zipf?.slope == stats.zipf?.slope)
        // Coverage by brute force over `top`.
        let top = try topNGrams(path: index, order: 1, limit: 1_000_000, bottom: false)
        let total = Double(top.reduce(0) { $0 + $1.count })
        let top10 = Double(top.map(\.count).sorted(by: >).prefix(10).reduce(0, +))
        #expect(abs(rep.coverage[0].share - top10 / total) < 1e-12 && rep.coverage[0].types == 10)
        // Per group statistics are those of `correlate` with the same options.
        let corr = try correlate(c) { _ in }
        #expect(rep.sets.count == 2)
        for (set, g) in zip(rep.sets, corr.groups) {
            let s = try #require(set.statistics)
            #expect(set.label == g.label.joined(separator: " / "))
            #expect(s.n == g.n && s.spearman == g.spearman && s.kendall == g.kendall && s.gap == g.gap)
            #expect(s.spearmanCI.low == g.spearmanCI.low && s.gapCI.high == g.gapCI.high)
            #expect(s.logistic?.coef == g.logistic?.coef)
            // Buckets by brute force over correlate's per-question values.
            let values = corr.questions.filter { corr.groups[$0.group].label == g.label }.compactMap(\.value)
            let edges: [(Double, Double)] = [(0, 0), (0, 10), (10, 100), (100, 1000), (1000, 10000), (10000, .infinity)]
            for (k, e) in edges.enumerated() {
                let n = values.filter { e.1 == 0 ? $0 == 0 : $0 > 0 && $0 >= e.0 && $0 < e.1 }.count
                #expect(set.buckets[k].n == n, "bucket \(k)")
            }
            #expect(set.buckets.map(\.n).reduce(0, +) == values.count)
            #expect(abs(set.buckets.last!.cumulativeShare - 1) < 1e-12)
            // Accuracy per bucket with its Wilson interval.
            for b in set.buckets where b.n > 0 {
                let w = wilsonInterval(successes: b.correct!, n: b.n)
                #expect(b.ciLow == w.lo && b.ciHigh == w.hi && b.accuracy == b.correct! / Double(b.n))
            }
        }
        // The rarest questions' counts are `count`'s.
        for q in rep.sets[0].rarest.prefix(5) {
            for t in q.terms {
                let direct = try countTerms(path: index, queries: [t.text])[0]
                #expect(direct.count == t.count ?? 0, "\(t.text)")
            }
        }
        #expect(rep.sets[0].rarest.map { $0.value! } == rep.sets[0].rarest.map { $0.value! }.sorted())
    }

    @Test func writesWellFormedPagesWithoutCorrectnessAndScansContamination() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let (index, _, plain) = try fixture(dir)
        var c = CorrelateOptions(index: index, evals: [plain])
        c.terms = [.content]
        var o = ReportOptions(features: c)
        o.corpus = [dir + "/corpus.jsonl"]
        let rep = try buildTailReport(o) { _ in }
        #expect(rep.sets.count == 1 && rep.sets[0].statistics == nil)
        // Answers: "zebra" never occurs; the numbers do.
        let a = try #require(rep.sets[0].answers)
        #expect(a.withAnswers == 161 && a.unseenExamples == ["zebra"] && a.unseen == 54)
        // Contamination: only the planted question is long enough and shares a 13-gram.
        #expect(rep.sets[0].contaminationTested == 1 && rep.sets[0].contaminationShared == 1)
        #expect(rep.contamination?.docsWithHits == 1)
        let out = dir + "/report"
        try ReportWriter.write(rep, to: out)
        for file in ["index.html", "rank_frequency.svg", "tail_histogram.svg"] {
            let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(file)")))
            #expect(parser.parse(), "\(file): \(String(describing: parser.parserError))")
        }
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(!html.contains("<script") && !html.contains("src=\"http"))
        #expect(html.contains("accuracy is not reported"))
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(md.contains("![") && md.contains("(rank_frequency.svg)"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as! [String: Any]
        let sets = json["sets"] as! [[String: Any]]
        #expect((sets[0]["questions"] as! Int) == 161)
        #expect(!FileManager.default.fileExists(atPath: out + "/accuracy_by_bucket.svg"))
    }

    @Test func contaminationMatchesBruteForce() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = Xoshiro256(seed: 21)
        let words = ["a", "b", "c", "d", "e"]
        let docs = (0..<200).map { _ in (0..<(3 + Int(rng.next(upperBound: UInt64(30))))).map { _ in words[Int(rng.next(upperBound: UInt64(5)))] } }
        TestSupport.write(dir + "/c.jsonl", docs.map { "{\"text\": \"\($0.joined(separator: " "))\"}" }.joined(separator: "\n") + "\n")
        let questions = (0..<100).map { _ in (0..<(2 + Int(rng.next(upperBound: UInt64(12))))).map { _ in words[Int(rng.next(upperBound: UInt64(5)))] } }
        let n = 5
        let got = try scanContamination(questions: questions.map { $0.joined(separator: " ") }, corpus: [dir + "/c.jsonl"], n: n,
                                        tokenizer: Tokenizer(config: TokenizerConfig(caseFold: true)), read: ReadOptions())
        let corpusGrams = Set(docs.flatMap { d in d.count < n ? [] : (0...(d.count - n)).map { Array(d[$0..<($0 + n)]) } })
        for (i, q) in questions.enumerated() {
            if q.count < n { #expect(got.shared[i] == nil); continue }
            let shared = (0...(q.count - n)).contains { corpusGrams.contains(Array(q[$0..<($0 + n)])) }
            #expect(got.shared[i] == shared, "\(q)")
        }
        #expect(got.shared.contains { $0 == true } && got.shared.contains { $0 == false })
        #expect(got.docs == 200)
    }
}

@Suite struct ContaminationShardTests {
    /// `report --corpus ... --shard K/N --contamination-shard F` then `--contamination-shards`:
    /// for N = 1, 3 and 7, by file and by document, the merged shards give the report the same
    /// contamination as one scan; mixed or incomplete sets are refused.
    @Test func shardedScansMergeToTheSingleScan() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = Xoshiro256(seed: 5)
        let words = ["a", "b", "c", "d", "e", "f"]
        var files: [String] = []
        var all: [String] = []
        for f in 0..<4 {
            let docs = (0..<60).map { _ in (0..<(3 + Int(rng.next(upperBound: UInt64(25))))).map { _ in words[Int(rng.next(upperBound: UInt64(6)))] }.joined(separator: " ") }
            all += docs
            TestSupport.write(dir + "/c\(f).jsonl", docs.map { "{\"text\": \"\($0)\"}" }.joined(separator: "\n") + "\n")
            files.append(dir + "/c\(f).jsonl")
        }
        let index = try buildTestIndex(dir, docs: all, orders: 1)
        var eval = ""
        for _ in 0..<80 { eval += "{\"question\": \"" + (0..<(3 + Int(rng.next(upperBound: UInt64(8))))).map { _ in words[Int(rng.next(upperBound: UInt64(6)))] }.joined(separator: " ") + "\"}\n" }
        TestSupport.write(dir + "/e.jsonl", eval)
        var c = CorrelateOptions(index: index, evals: [dir + "/e.jsonl"])
        c.bootstrap = 0
        var o = ReportOptions(features: c)
        o.corpus = files
        o.contaminationN = 5
        let whole = try buildTailReport(o) { _ in }.contamination!
        #expect(whole.shared.contains { $0 == true } && whole.shared.contains { $0 == false } && whole.docs == 240)
        for by in [ShardSpec.By.file, .doc] {
            for n in [1, 3, 7] {
                var paths: [String] = []
                for k in 1...n {
                    let j = try contaminationShard(o, shard: ShardSpec(index: k, count: n, by: by)) { _ in }
                    let p = dir + "/s-\(by)-\(n)-\(k).json"
                    TestSupport.write(p, j.render())
                    paths.append(p)
                }
                var m = o
                m.corpus = []
                m.contaminationShards = paths
                let merged = try buildTailReport(m) { _ in }.contamination!
                #expect(merged.shared == whole.shared && merged.docs == whole.docs && merged.docsWithHits == whole.docsWithHits, "by \(by), \(n)")
                if n == 3 {
                    m.contaminationShards = Array(paths.prefix(2))
                    #expect { try buildTailReport(m) { _ in } } throws: { "\($0)".contains("3/3 missing") }
                    m.contaminationShards = paths + [paths[0]]
                    #expect { try buildTailReport(m) { _ in } } throws: { "\($0)".contains("both shard 1/3") }
                    var other = o
                    other.contaminationN = 4
                    other.contaminationShards = paths
                    other.corpus = []
                    #expect { try buildTailReport(other) { _ in } } throws: { "\($0)".contains("other questions") }
                }
            }
        }
    }
}

@Suite struct ReportModelTests {
    /// Two models on the same 160 questions: with --model-field the question distribution is
    /// counted once per question, accuracy is per model, and the Scale section is `scaling`'s.
    @Test func severalModelsOnTheSameQuestionsAreShownOnceAndScaled() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let (index, scored, _) = try fixture(dir)
        var c = CorrelateOptions(index: index, evals: [scored])
        c.terms = [.numbers]
        c.bootstrap = 100
        c.fields.id = "id"
        var o = ReportOptions(features: c)
        o.modelField = "model"
        o.sizes = ["small": 1e9, "large": 7e10]
        let rep = try buildTailReport(o) { _ in }
        #expect(rep.sets.count == 1)
        let set = rep.sets[0]
        // Each question once in the distributions (not twice, once per model).
        #expect(set.n == 160)
        #expect(set.buckets.reduce(0) { $0 + $1.n } == 160 - set.withoutTerms)
        #expect(set.statistics == nil)   // never pooled over models
        #expect(set.models.map(\.name) == ["small", "large"])
        // Per model: the statistics `correlate` gives on that model's rows.
        c.fields.groupBy = ["model"]
        let corr = try correlate(c) { _ in }
        for m in set.models {
            let g = try #require(corr.groups.first { $0.label == [m.name] })
            #expect(m.statistics?.n == g.n && m.statistics?.spearman == g.spearman && m.statistics?.logistic?.coef == g.logistic?.coef)
            #expect(m.buckets.reduce(0) { $0 + $1.n } == g.n)
        }
        // The Scale section is `scaling` on the same rows.
        let sr = try #require(rep.scaling)
        var so = ScalingOptions(features: c)
        so.features.fields.groupBy = ["file"]
        so.sizes = o.sizes
        so.bucketEdges = o.thresholds
        let direct = try scaling(so) { _ in }
        #expect(sr.groups[0].joint.fit?.coef == direct.groups[0].joint.fit?.coef)
        #expect(sr.groups[0].models.map(\.params) == [1e9, 7e10])
        // Written: the Scale figure and section; a later report without models drops the figure.
        let out = dir + "/rep"
        try ReportWriter.write(rep, to: out)
        #expect(FileManager.default.fileExists(atPath: out + "/scaling.svg"))
        let md = String(decoding: TestSupport.read(out + "/report.md"), as: UTF8.self)
        #expect(md.contains("## Scale") && md.contains("b3 = "))
        o.modelField = nil
        try ReportWriter.write(try buildTailReport(o) { _ in }, to: out)
        #expect(!FileManager.default.fileExists(atPath: out + "/scaling.svg"))
        // Without sizes, the section says why.
        var ns = ReportOptions(features: CorrelateOptions(index: index, evals: [scored]))
        ns.features.terms = [.numbers]
        ns.features.bootstrap = 0
        ns.modelField = "model"
        let noSizes = try buildTailReport(ns) { _ in }
        #expect(noSizes.scaling == nil && noSizes.scalingNote?.contains("no size for model") == true)
    }
}
