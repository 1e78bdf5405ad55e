import Foundation
import Testing
import CorpusIO
@testable import Evaluation
import Indexing
import Statistics
import TestSupport

/// Reading several models' results, and `tailscope scaling` against independent recomputations.
@Suite struct ScalingTests {
    // MARK: wide files

    /// The shape of Cobbe et al.'s released solutions: one row per question, one object per run.
    static func wideFile(_ dir: String, questions: Int = 30) -> String {
        var lines: [String] = []
        for i in 0..<questions {
            var runs: [String] = []
            for (k, run) in ["6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"].enumerated() {
                runs.append("\"\(run)\": {\"is_correct\": \((i + k) % 3 == 0), \"solution\": \"A: \(i)\"}")
            }
            lines.append("{\"question\": \"How many apples are \(i) plus \(i * 7)?\", \"ground_truth\": \"A: \(i * 8)\", " + runs.joined(separator: ", ") + "}")
        }
        let path = dir + "/wide.jsonl"
        TestSupport.write(path, lines.joined(separator: "\n") + "\n")
        return path
    }

    @Test func wideRowsBecomeOneRowPerRunWithFieldsFromTheKey() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = Self.wideFile(dir)
        var f = EvalFields()
        f.runs = ["*"]
        f.runPattern = "(?<model>[^_]+)_(?<method>.+)"
        f.groupBy = ["method"]
        f.extra = ["model", "run"]
        let (rows, read) = try readEvalFiles([path], fields: f, onError: .stop)
        #expect(rows.count == 120 && read.rows == 120)
        // Sorted run keys per line: 175b_finetuning, 175b_verification, 6b_finetuning, 6b_verification.
        #expect(rows[0].extra["model"] == "175b" && rows[0].group == ["finetuning"] && rows[0].extra["run"] == "175b_finetuning")
        #expect(rows[3].extra["model"] == "6b" && rows[3].group == ["verification"])
        // Correctness comes from the run object (is_correct is a default field name).
        #expect(rows[2].correct == 1 && rows[3].correct == 0)   // line 0: 6b_finetuning k=0, 6b_verification k=1
        // The four runs of a line are the same question (paired).
        #expect(Set(rows[0..<4].map(\.key)).count == 1 && rows[0].key != rows[4].key)
        #expect(rows[0].key == "how many apples are 0 plus 0?")

        // Named runs only.
        f.runs = ["6b_finetuning", "175b_finetuning"]
        #expect(try readEvalFiles([path], fields: f, onError: .stop).0.count == 60)
        // A named run that is missing: file:line, or counted under skip.
        f.runs = ["6b_finetuning", "13b_finetuning"]
        #expect { try readEvalFiles([path], fields: f, onError: .stop) } throws: { e in
            (e as? EvalError).map { $0.kind == .missingField && $0.line == 1 && $0.description.contains("13b_finetuning") } ?? false
        }
        let (some, skipped) = try readEvalFiles([path], fields: f, onError: .skip)
        #expect(some.count == 30 && skipped.skipped[.missingField] == 30)
        // A key the pattern does not split.
        f.runs = ["*"]
        f.runPattern = "(?<model>[0-9]+b)-(?<method>.+)"
        #expect(throws: EvalError.self) { try readEvalFiles([path], fields: f, onError: .stop) }
        f.runPattern = "(?<model"
        #expect(throws: UsageError.self) { try readEvalFiles([path], fields: f, onError: .stop) }
    }

    @Test func modelSizesFromTextAndNames() {
        #expect(parseModelSize("6e9") == 6e9 && parseModelSize("175B") == 175e9 && parseModelSize("1.3b") == 1.3e9)
        #expect(parseModelSize("350M") == 350e6 && parseModelSize(" 70000000000 ") == 7e10 && parseModelSize("2T") == 2e12)
        #expect(parseModelSize("big") == nil && parseModelSize("-3b") == nil && parseModelSize("0") == nil)
        #expect(parseModelSize("gpt-j-6b", inName: true) == 6e9)
        #expect(parseModelSize("EleutherAI/pythia-1.4b-deduped", inName: true) == 1.4e9)
        #expect(parseModelSize("meta-llama/Llama-2-7b-hf", inName: true) == 7e9)
        #expect(parseModelSize("175b_verification", inName: true) == 175e9)
        // A bare number in a name (the 2 of Llama-2, the 3 of gpt-3) is not a size.
        #expect(parseModelSize("gpt-3", inName: true) == nil && parseModelSize("davinci", inName: true) == nil)
    }

    // MARK: the analysis against recomputation

    /// An index where word wK occurs about K^2 times, and three models answering 240 questions
    /// "what is wK" with accuracy rising in K and in size; model m-30b skips question 7.
    static func fixture(_ dir: String) throws -> (index: String, eval: String) {
        var docs: [String] = []
        for k in 1...60 { for j in 0..<(k * k / 20 + 1) { docs.append("w\(k) filler \(j % 5)") } }
        let index = try buildTestIndex(dir, docs: docs, orders: 1)
        var rng = Xoshiro256(seed: 9)
        var lines: [String] = []
        for (mi, model) in ["m-300m", "m-3b", "m-30b"].enumerated() {
            for q in 0..<240 {
                if model == "m-30b" && q == 7 { continue }
                let k = 1 + q % 60
                let p = 1 / (1 + exp(-(-2.0 + 0.04 * Double(k) + 0.8 * Double(mi) - 0.01 * Double(k * mi))))
                let c = Double(rng.next() % 10_000) / 10_000 < p
                lines.append("{\"id\": \(q), \"question\": \"what is w\(k)\", \"model\": \"\(model)\", \"correct\": \(c), \"kind\": \"\(q % 3 == 0 ? "a" : "b")\"}")
            }
        }
        let eval = dir + "/runs.jsonl"
        TestSupport.write(eval, lines.joined(separator: "\n") + "\n")
        return (index, eval)
    }

    static func options(_ index: String, _ eval: String) -> ScalingOptions {
        var c = CorrelateOptions(index: index, evals: [eval])
        c.terms = [.content]
        c.stopwords = ["what", "is"]
        c.fields.id = "id"
        c.bootstrap = 200
        c.seed = 3
        return ScalingOptions(features: c)
    }

    /// The CSV rows as (question, model, s, x, correct, used).
    static func csvRows(_ r: ScalingReport) throws -> [(q: String, model: String, s: Double, x: Double, y: Double, used: Bool)] {
        let table = try Array(ScalingRender.csv(r).utf8).withUnsafeBytes { try parseCSV($0) }
        let h = table.header
        func col(_ n: String) -> Int { h.firstIndex(of: n)! }
        return table.rows.map { r in
            let f = r.fields
            return (f[col("question")], f[col("model")], Double(f[col("s")])!, Double(f[col("x")]) ?? .nan,
                    Double(f[col("correct")])!, f[col("used")] == "1")
        }
    }

    @Test func jointFitBucketsAndComparisonsEqualRecomputationFromTheCSV() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let (index, eval) = try Self.fixture(dir)
        var o = Self.options(index, eval)
        o.bucketEdges = [20, 100]
        let r = try scaling(o) { _ in }
        let g = try #require(r.groups.first)
        #expect(g.note == nil)
        #expect(g.models.map(\.name) == ["m-300m", "m-3b", "m-30b"])
        #expect(g.models.map(\.params) == [3e8, 3e9, 3e10])
        #expect(r.sizeSources["m-3b"] == "the model name")
        // Balanced: question 7 is left out for every model.
        #expect(g.questionsAny == 240 && g.questionsAll == 239 && g.rowsUsed == 3 * 239)

        let rows = try Self.csvRows(r).filter(\.used)
        #expect(rows.count == g.rowsUsed)
        // Joint fit: centered x and s, their product; clustered by question.
        let mx = rows.map(\.x).reduce(0, +) / Double(rows.count), ms = rows.map(\.s).reduce(0, +) / Double(rows.count)
        var ids: [String: Int] = [:]
        let clusters = rows.map { row -> Int in if let v = ids[row.q] { return v }; ids[row.q] = ids.count; return ids.count - 1 }
        let xc = rows.map { $0.x - mx }, sc = rows.map { $0.s - ms }
        let ref = try logisticRegression(columns: [xc, sc, zip(xc, sc).map(*)], y: rows.map(\.y), clusters: clusters)
        let joint = try #require(g.joint.fit)
        #expect(joint.clusters == 239)
        for j in 0..<4 {
            #expect(abs(joint.coef[j] - ref.coef[j]) < 1e-9 && abs(joint.se[j] - ref.se[j]) < 1e-9)
        }
        #expect(abs(g.joint.xMean - mx) < 1e-12 && abs(g.joint.sMean - ms) < 1e-12)
        // Per-size slope of the joint model: b1 + b3 (s - mean s).
        for m in g.models {
            #expect(abs(m.jointSlope!.value - (ref.coef[1] + ref.coef[3] * (m.s - ms))) < 1e-9)
        }
        // Buckets by brute force over the rows: v < 20, 20 <= v < 100, v >= 100.
        for (b, bucket) in g.buckets.enumerated() {
            for (k, m) in g.models.enumerated() {
                let inB = rows.filter { row in
                    let v = pow(10, row.x) - 1
                    let idx = v < 19.5 ? 0 : v < 99.5 ? 1 : 2
                    return idx == b && row.model == m.name
                }
                #expect(bucket.n[k] == inB.count, "bucket \(b) model \(m.name)")
                if !inB.isEmpty {
                    #expect(abs(bucket.accuracy[k] - inB.map(\.y).reduce(0, +) / Double(inB.count)) < 1e-12)
                }
            }
        }
        // Linear extrapolation: a line through (s, accuracy of the rarest bucket), crossing the
        // most frequent bucket's accuracy at the largest size.
        let rare = g.buckets[0], top = g.buckets.last!
        #expect(g.buckets.allSatisfy { $0.questions > 0 })
        let s = g.models.map(\.s)
        let line = lineFit(s, rare.accuracy)!
        let target = top.accuracy.last!
        let lin = g.extrapolations.first { $0.curve == .linear }!
        #expect(abs(lin.target - target) < 1e-12)
        if line.slope > 0 { #expect(abs(lin.crossing! - (target - line.intercept) / line.slope) < 1e-9) } else { #expect(lin.crossing == nil) }
        // Neighbouring comparisons: the clustered interaction equals the slope difference.
        #expect(g.comparisons.map { [$0.a, $0.b] } == [[0, 1], [1, 2]])
        for c in g.comparisons {
            #expect(c.shared == 239)
            #expect(abs(c.interaction!.value - c.slope.value) < 1e-6)
            #expect(c.slope.ci.low <= c.slope.value + 0.5 && c.slope.ci.high >= c.slope.value - 0.5)
            #expect(c.slope.pAdjusted >= c.slope.p)
        }
        // The same seed gives the same intervals; another seed other ones.
        let again = try scaling(o) { _ in }
        #expect(again.groups[0].comparisons[0].slope.ci.low == g.comparisons[0].slope.ci.low)
        o.features.seed = 4
        #expect(try scaling(o) { _ in }.groups[0].comparisons[0].slope.ci.low != g.comparisons[0].slope.ci.low)
    }

    @Test func unbalancedCovariatesSizesAndGroups() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let (index, eval) = try Self.fixture(dir)
        var o = Self.options(index, eval)
        o.unbalanced = true
        o.covariates = ["kind"]
        let r = try scaling(o) { _ in }
        let g = r.groups[0]
        #expect(g.rowsUsed == 3 * 240 - 1 && !g.balanced)
        #expect(g.joint.names == ["intercept", "x", "s", "x:s", "kind=b"])
        #expect(g.buckets.count == 4)   // quantile buckets by default
        // Explicit sizes win over the name; a model without any size is an error naming it.
        o.sizes = ["m-300m": 1e9, "m-3b": 1e10, "m-30b": 1e11]
        #expect(try scaling(o) { _ in }.groups[0].models.map(\.params) == [1e9, 1e10, 1e11])
        o.sizes = [:]
        o.modelField = "kind"
        #expect { try scaling(o) { _ in } } throws: { ($0 as? CorrelateError)?.description.contains("no size for model") ?? false }
        // One size only: says so.
        o.modelField = "model"
        // Two models of one size are not compared as smaller and larger.
        o.sizes = ["m-300m": 1e9, "m-3b": 1e9, "m-30b": 1e10]
        let shared = try scaling(o) { _ in }.groups[0]
        #expect(shared.comparisons.count == 1 && shared.models[shared.comparisons[0].b].params == 1e10)
        o.sizes = ["m-300m": 1e9, "m-3b": 1e9, "m-30b": 1e9]
        #expect { try scaling(o) { _ in } } throws: { ($0 as? CorrelateError)?.description.contains("at least two sizes") ?? false }
        // Separate analyses per group.
        o.sizes = [:]
        o.features.fields.groupBy = ["kind"]
        let split = try scaling(o) { _ in }
        #expect(split.groups.map(\.label) == [["a"], ["b"]])
        #expect(split.groups[0].rowsUsed + split.groups[1].rowsUsed == 3 * 240 - 1)
    }

    // MARK: simulation

    /// Realistic question features: x = log10(v + 1) with v the smallest count among three words
    /// drawn from running text (a question's rarest content word), counted in the fortunes corpus
    /// from `datasets/`; Zipf draws stand in without it. Deterministic for a seed.
    static func realisticX(_ n: Int, seed: UInt64) throws -> [Double] {
        var rng = Xoshiro256(seed: seed)
        var words: [Substring] = []
        var count: [Substring: Int] = [:]
        var text = ""
        if let path = TestSupport.fortunes("jsonl.zst") {
            text = String(decoding: try readAllBytes(path: path), as: UTF8.self).lowercased()
            words = text.split(whereSeparator: { !$0.isLetter })
            for w in words { count[w, default: 0] += 1 }
        }
        if words.isEmpty {
            return (0..<n).map { _ in log10(1 / pow(Double(rng.next() % 1_000_000 + 1) / 1_000_000, 1.2)) }
        }
        return (0..<n).map { _ in
            let v = (0..<3).map { _ in count[words[Int(rng.next() % UInt64(words.count))]]! }.min()!
            return log10(Double(v) + 1)
        }
    }

    /// Four sizes on the same 2,000 questions. Rows of a question share a uniform draw half of
    /// the time (strongly correlated within a question, so clustering matters), while each row
    /// is marginally Bernoulli(logistic(b0 + b1 xc + b2 sc + b3 xc sc)): the planted b3 is the
    /// population-averaged truth the GLM estimates.
    static func simulate(x: [Double], b3: Double, seed: UInt64) throws -> LogisticFit {
        var rng = Xoshiro256(seed: seed)
        let sizes = [8.0, 9.0, 10.0, 11.0]
        let mx = x.reduce(0, +) / Double(x.count), msz = 9.5
        var cx: [Double] = [], cs: [Double] = [], y: [Double] = [], cl: [Int] = []
        for (i, xi) in x.enumerated() {
            let shared = Double(rng.next() >> 11) / Double(1 << 53)
            for s in sizes {
                let a = xi - mx, b = s - msz
                let p = 1 / (1 + exp(-(-0.3 + 0.5 * a + 0.6 * b + b3 * a * b)))
                let u = rng.next() % 2 == 0 ? shared : Double(rng.next() >> 11) / Double(1 << 53)
                cx.append(a); cs.append(b); y.append(u < p ? 1 : 0); cl.append(i)
            }
        }
        return try logisticRegression(columns: [cx, cs, zip(cx, cs).map(*)], y: y, clusters: cl)
    }

    @Test func clusteredIntervalsCoverThePlantedInteraction() throws {
        let x = try Self.realisticX(2000, seed: 1)
        for b3 in [-0.3, 0.0] {
            var covered = 0, rejected = 0
            for seed in 0..<100 {
                let e = try Self.simulate(x: x, b3: b3, seed: UInt64(seed) &+ 1000).estimate(3)
                if e.low <= b3 && b3 <= e.high { covered += 1 }
                if e.p < 0.05 { rejected += 1 }
            }
            #expect(covered >= 90, "b3 = \(b3): the 95% interval covered the truth in \(covered) of 100 seeds")
            if b3 != 0 { #expect(rejected >= 80, "b3 = \(b3): rejected b3 = 0 in \(rejected) of 100 seeds") }
            else { #expect(rejected <= 10, "b3 = 0: rejected in \(rejected) of 100 seeds") }
        }
    }

    @Test func extrapolationRecoversAPlantedCrossing() throws {
        // Rare questions (v < 100): accuracy 0.10 + 0.08 (s - 8); frequent (v >= 100): 0.5 + 0.05 (s - 8).
        // Target 0.6: the rare line reaches it at s* = 8 + 0.5 / 0.08 = 14.25.
        let truth = 8 + 0.5 / 0.08
        var covered = 0
        let seeds = 30
        for seed in 0..<seeds {
            var rng = Xoshiro256(seed: UInt64(seed) &+ 77)
            var qs: [QuestionResult] = []
            for q in 0..<1000 {
                let rareQ = q % 2 == 0
                let v = rareQ ? Double(q % 97) : 100 + Double(q)
                let shared = Double(rng.next() >> 11) / Double(1 << 53)
                for (k, s) in [8.0, 9.0, 10.0, 11.0].enumerated() {
                    let p = rareQ ? 0.10 + 0.08 * (s - 8) : 0.5 + 0.05 * (s - 8)
                    let u = rng.next() % 2 == 0 ? shared : Double(rng.next() >> 11) / Double(1 << 53)
                    let row = EvalRow(file: "sim", line: q + 1, id: "\(q)", key: "q\(q)", question: "q\(q)", answers: [],
                                      correct: u < p ? 1 : 0, group: [], termFields: [:], extra: ["model": "m\(k)"])
                    qs.append(QuestionResult(row: row, group: 0, terms: [], value: v))
                }
            }
            var o = ScalingOptions(features: CorrelateOptions(index: "", evals: []))
            o.features.bootstrap = 200
            o.bucketEdges = [100]
            o.targetAccuracy = 0.6
            let params = Dictionary(uniqueKeysWithValues: (0..<4).map { ("m\($0)", pow(10, 8 + Double($0))) })
            let (g, _) = try analyseGroup(label: [], questions: qs, params: params, options: o, seed: UInt64(seed))
            let lin = g.extrapolations.first { $0.curve == .linear }!
            if lin.ci.low <= truth && truth <= lin.ci.high { covered += 1 }
        }
        #expect(covered >= 26, "the bootstrap interval held the planted crossing in \(covered) of \(seeds) seeds")
    }
}
