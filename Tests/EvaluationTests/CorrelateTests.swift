import Foundation
import Testing
import CorpusIO
@testable import Evaluation
import Indexing
import IndexStore
import Statistics
import Tokenization
import TestSupport

@Suite struct CorrelateTests {
    @Test func countsTermsExactlyAndAggregates() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let docs = ["24 apples and 24 pears", "18 apples", "the united states of america", "24 of 18", "united states"]
        let index = try buildTestIndex(dir, docs: docs, orders: 2)
        let eval = dir + "/e.jsonl"
        TestSupport.write(eval, """
        {"question": "What is 24 x 18?", "answer": "united states", "correct": true, "m": "a"}
        {"question": "What is 24 x 7?", "answer": "the united states of america", "correct": false, "m": "a"}
        {"question": "No numbers here", "answer": "pears", "correct": true, "m": "b"}
        """)
        var o = CorrelateOptions(index: index, evals: [eval])
        o.fields.groupBy = ["m"]
        o.terms = [.numbers]
        o.bootstrap = 50
        for (agg, expected) in [(Aggregate.min, [2.0, 0]), (.max, [3, 3]), (.sum, [5, 3]), (.mean, [2.5, 1.5]), (.product, [6, 0])] {
            o.aggregate = agg
            let r = try correlate(o) { _ in }
            #expect(r.questions.map(\.value) == [expected[0], expected[1], nil], "\(agg)")
        }
        o.aggregate = .min
        o.measure = .df
        var r = try correlate(o) { _ in }
        #expect(r.questions[0].terms.map(\.df) == [2, 2])
        #expect(r.groups.map(\.label) == [["a"], ["b"]])
        #expect(r.groups[1].n == 0 && r.groups[1].withoutTerms == 1)
        // The answer as an n-gram; a 5-token answer in an order-2 index is reported as uncounted.
        o.terms = [.answer]
        o.measure = .count
        var logs: [String] = []
        r = try correlate(o) { logs.append($0) }
        #expect(r.questions[0].terms[0].count == 2)
        #expect(r.questions[1].terms[0].source == .uncounted && r.questions[1].value == nil)
        #expect(r.uncountedTerms == ["the united states of america"])
        #expect(logs.contains { $0.contains("longer than the index") })
        // Output formats carry the same numbers.
        let csv = CorrelateRender.csv(r)
        #expect(csv.split(separator: "\n").count == 4)
        #expect(csv.contains("united states,2,2,index,2,"))
        let svg = CorrelateRender.svg(r)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(CorrelateRender.json(r).render().contains("\"uncounted_terms\""))
    }

    /// The batched lookup agrees with one-by-one lookups (`count`) on real text.
    @Test func batchedLookupsEqualSingleLookups() throws {
        guard let fortunes = TestSupport.fortunes("jsonl.zst") else { return }
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var o = IndexOptions(inputs: [fortunes], output: dir + "/f.sqlite")
        o.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 3, minCount: 1)
        o.tempDir = dir
        _ = try buildIndex(o) { _ in }
        let phrases = ["the", "of the", "a man", "in the end", "zzzz unknown", "the meaning of", "life", "42", "of", "is the"]
        let single = try countTerms(path: o.output, queries: phrases)
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let batched = try IndexReader(path: o.output).counts(ngrams: phrases.map { tok.tokens(of: $0) })
        for (s, b) in zip(single, batched) {
            #expect(s.count == b?.count && s.df == b?.df, "\(s.query)")
        }
    }

    /// Correctness simulated from a known logistic curve of log frequency over a real index:
    /// the fitted slope's 95% interval holds the true slope, and the rank correlation is positive.
    @Test func recoversKnownLogisticSlope() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let index: String
        if let fortunes = TestSupport.fortunes("jsonl.zst") {
            var o = IndexOptions(inputs: [fortunes], output: dir + "/f.sqlite")
            o.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 1, minCount: 1)
            o.tempDir = dir
            _ = try buildIndex(o) { _ in }
            index = o.output
        } else {
            // Without the fortunes: random words, their digits spelled as letters (w12 -> wbc), so
            // that they are alphabetic like the words drawn below.
            let letters = { (w: String) in String(w.unicodeScalars.map { $0.properties.numericType == nil ? Character($0) : Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0.value - 48))) }) }
            index = try buildTestIndex(dir, docs: TestSupport.randomDocs(count: 3000, vocab: 5000, maxLen: 30, seed: 3).map { $0.map(letters).joined(separator: " ") }, orders: 1)
        }
        // Questions: single words drawn from the vocabulary, rare and frequent alike.
        var words: [(String, UInt64)] = []
        let r = try IndexReader(path: index)
        try r.forEachToken { _, bytes, count, _ in
            let w = String(decoding: bytes, as: UTF8.self)
            if w.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic }) && !defaultStopwords.contains(w) { words.append((w, count)) }
        }
        var rng = Xoshiro256(seed: 42)
        let a = -1.0, b = 0.9
        var lines: [String] = []
        for i in 0..<4000 {
            let (w, c) = words[Int(rng.next(upperBound: UInt64(words.count)))]
            let p = 1 / (1 + exp(-(a + b * log10(Double(c) + 1))))
            let correct = Double(rng.next() >> 11) / Double(1 << 53) < p
            lines.append("{\"id\": \(i), \"question\": \"\(w)\", \"correct\": \(correct)}")
        }
        let eval = dir + "/sim.jsonl"
        TestSupport.write(eval, lines.joined(separator: "\n") + "\n")
        var o = CorrelateOptions(index: index, evals: [eval])
        o.terms = [.content]
        o.bootstrap = 200
        let rep = try correlate(o) { _ in }
        let g = try #require(rep.groups.first)
        let fit = try #require(g.logistic)
        let ci = try #require(g.slopeCI)
        #expect(ci.low <= b && b <= ci.high, "slope \(fit.coef[1]) CI \(ci)")
        #expect(abs(fit.coef[0] - a) < 3 * fit.se[0])
        #expect(g.spearman > 0 && g.spearmanP < 0.001)
        #expect(g.gap > 0)
        // Seeded: the same run gives the same intervals.
        let again = try correlate(o) { _ in }
        #expect(again.groups[0].gapCI.low == g.gapCI.low && again.groups[0].spearmanCI.high == g.spearmanCI.high)
    }

    /// Two methods on the same 120 questions: the comparison is paired (every question shared),
    /// its interaction equals the slope difference, Holm never lowers a p-value, a covariate
    /// enters each group's fit, and a group of 5 questions gets n/a with the reason.
    @Test func pairedComparisonsCovariatesAndSmallGroups() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var docs: [String] = []
        for i in 0..<400 { docs.append(String(repeating: "w\(i % 40) ", count: 1 + i % 9) + "filler") }
        let index = try buildTestIndex(dir, docs: docs, orders: 1)
        var rng = Xoshiro256(seed: 5)
        var lines: [String] = []
        for m in ["direct", "cot"] {
            for q in 0..<120 {
                let k = q % 40
                let p = 1 / (1 + exp(-(-1.0 + (m == "cot" ? 0.01 : 0.05) * Double(k))))
                let c = Double(rng.next() % 10_000) / 10_000 < p
                lines.append("{\"id\": \"b\(q)\", \"question\": \"tell me w\(k)\", \"set\": \"big\", \"method\": \"\(m)\", \"correct\": \(c), \"len\": \(q % 7), \"kind\": \"\(q % 2 == 0 ? "a" : "b")\"}")
            }
            for q in 0..<5 { lines.append("{\"id\": \"t\(q)\", \"question\": \"tell me w\(q)\", \"set\": \"tiny\", \"method\": \"\(m)\", \"correct\": \(q % 2 == 0), \"len\": 1, \"kind\": \"a\"}") }
        }
        let eval = dir + "/e.jsonl"
        TestSupport.write(eval, lines.joined(separator: "\n") + "\n")
        var o = CorrelateOptions(index: index, evals: [eval])
        o.fields.groupBy = ["set", "method"]
        o.fields.id = "id"
        o.stopwords = ["tell", "me"]
        o.bootstrap = 300
        o.covariates = ["len", "kind"]
        let r = try correlate(o) { _ in }
        let big = try #require(r.comparisons.first { r.groups[$0.a].label[0] == "big" })
        #expect(big.shared == 120 && big.questionsA == 120 && big.paired)
        let inter = try #require(big.interaction, "\(big.interactionNote ?? "")")
        #expect(abs(inter.value - big.slope.value) < 1e-6)
        #expect(big.slope.pAdjusted >= big.slope.p && big.gap.pAdjusted >= big.gap.p)
        // Covariates: the group's fit is the fit on [x, len, kind=b].
        let g = try #require(r.groups.first { $0.label == ["big", "cot"] })
        #expect(g.covariateNames == ["len", "kind=b"])
        let rows = r.questions.filter { $0.row.group == ["big", "cot"] }
        let ref = try logisticRegression(columns: [rows.map { $0.x! }, rows.map { Double($0.row.extra["len"]!)! },
                                                   rows.map { $0.row.extra["kind"] == "b" ? 1 : 0 }], y: rows.map { $0.row.correct! })
        let gl = try #require(g.logistic, "\(g.logisticNote ?? "")")
        #expect(gl.coef == ref.coef && gl.se == ref.se)
        // The tiny groups: n/a and why, and so is their comparison.
        let tiny = try #require(r.groups.first { $0.label == ["tiny", "cot"] })
        #expect(tiny.statisticsNote?.contains("fewer than 10") == true && tiny.logistic == nil && tiny.spearman.isNaN && tiny.gap.isNaN)
        let tc = try #require(r.comparisons.first { r.groups[$0.a].label[0] == "tiny" })
        #expect(tc.slope.value.isNaN && tc.gap.value.isNaN && tc.interaction == nil)
        #expect(CorrelateRender.text(r).contains("statistics n/a: fewer than 10 questions (5)"))
        // Without pairing (other question ids per method) nothing is shared.
        let unpaired = lines.map { $0.contains("\"cot\"") ? $0.replacingOccurrences(of: "\"id\": \"", with: "\"id\": \"c") : $0 }
        TestSupport.write(eval, unpaired.joined(separator: "\n") + "\n")
        let u = try correlate(o) { _ in }
        #expect(try #require(u.comparisons.first { u.groups[$0.a].label[0] == "big" }).shared == 0)
    }

    @Test func featuresOnlyNeedsNoCorrectness() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let index = try buildTestIndex(dir, docs: ["a b c", "a b", "a"], orders: 1)
        TestSupport.write(dir + "/q.jsonl", "{\"question\": \"a or b\", \"answer\": [\"c\"]}\n{\"question\": \"just c\"}\n{\"question\": \"zzz\"}\n")
        var o = CorrelateOptions(index: index, evals: [dir + "/q.jsonl"])
        o.stopwords = ["or", "just"]
        #expect(throws: EvalError.self) { try correlate(o) { _ in } }
        o.featuresOnly = true
        let r = try correlate(o) { _ in }
        #expect(r.questions.map(\.value) == [2, 1, 0] && r.groups[0].n == 3 && r.comparisons.isEmpty)
        #expect(r.groups[0].logistic == nil && r.groups[0].accuracy.isNaN)
        let csv = CorrelateRender.csv(r)
        #expect(csv.contains("q.jsonl:1,,a;b,3;2,") && CorrelateRender.text(r).contains("--features-only"))
    }

    /// `--unit term`: each distinct number a unit, its accuracy averaged over the questions that
    /// hold it; statistics and Δ equal scipy on the CSV (check_unit_term.py, run with the notebook
    /// environment's Python, which has scipy).
    @Test func termUnitsEqualScipyOnTheirCSV() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var docs: [String] = []
        for i in 0..<500 { docs.append("the count is " + (1...60).filter { i % $0 == 0 }.map(String.init).joined(separator: " ")) }
        let index = try buildTestIndex(dir, docs: docs, orders: 1)
        var rng = Xoshiro256(seed: 4)
        var lines: [String] = []
        for m in ["small", "large"] {
            for _ in 0..<400 {
                let a = 1 + Int(rng.next() % 60), b = 1 + Int(rng.next() % 60)
                let p = m == "large" ? 0.8 : 0.3 + 0.01 * Double(min(a, b))
                let c = Double(rng.next() % 1000) / 1000 < p
                lines.append("{\"question\": \"What is \(a) times \(b)?\", \"model\": \"\(m)\", \"correct\": \(c)}")
            }
        }
        let eval = dir + "/e.jsonl"
        TestSupport.write(eval, lines.joined(separator: "\n") + "\n")
        var o = CorrelateOptions(index: index, evals: [eval])
        o.fields.groupBy = ["model"]
        o.terms = [.numbers]
        o.unit = .term
        o.bootstrap = 200
        let r = try correlate(o) { _ in }
        #expect(r.groups.allSatisfy { $0.n == 60 })      // every number 1...60 is a term
        #expect(r.comparisons.count == 1 && r.comparisons[0].shared == 60)   // the same terms in both groups
        TestSupport.write(dir + "/out.json", CorrelateRender.json(r).render())
        TestSupport.write(dir + "/terms.csv", CorrelateRender.csv(r))
        let python = ProcessInfo.processInfo.environment["TAILSCOPE_NOTEBOOK_PYTHON"] ?? TestSupport.packageRoot + "/.build/nbenv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python), "no Python with scipy at \(python): run `make notebook-env`")
        let (rc, out, err) = TestSupport.run(python, [TestSupport.packageRoot + "/Tests/EvaluationTests/check_unit_term.py",
                                                      dir + "/out.json", dir + "/terms.csv", eval])
        #expect(rc == 0 && out.contains("ok"), "\(err)")
    }

    @Test func comparesGroupsThatDifferInOneField() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var docs: [String] = []
        for i in 0..<200 { docs.append(String(repeating: "w\(i % 20) ", count: 1 + i % 7) + "x\(i)") }
        let index = try buildTestIndex(dir, docs: docs, orders: 1)
        var lines: [String] = []
        var rng = Xoshiro256(seed: 1)
        for d in ["d1", "d2"] { for m in ["zero_shot", "cot"] { for i in 0..<60 {
            let w = i % 2 == 0 ? "w\(i % 20)" : "x\(i)"
            lines.append("{\"question\": \"\(w)\", \"correct\": \(rng.next() % 3 != 0), \"dataset\": \"\(d)\", \"method\": \"\(m)\"}")
        } } }
        let eval = dir + "/e.jsonl"
        TestSupport.write(eval, lines.joined(separator: "\n"))
        var o = CorrelateOptions(index: index, evals: [eval])
        o.fields.groupBy = ["dataset", "method"]
        o.bootstrap = 100
        let r = try correlate(o) { _ in }
        #expect(r.groups.count == 4)
        #expect(r.compareField == "method")
        let pairs = r.comparisons.map { [r.groups[$0.a].label, r.groups[$0.b].label] }
        #expect(pairs == [[["d1", "zero_shot"], ["d1", "cot"]], [["d2", "zero_shot"], ["d2", "cot"]]])
        o.compare = "dataset"
        #expect(try correlate(o) { _ in }.comparisons.count == 2)
        o.compare = "model"
        #expect(throws: CorrelateError.self) { try correlate(o) { _ in } }
    }
}
