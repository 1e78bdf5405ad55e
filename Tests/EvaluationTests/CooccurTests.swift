import Foundation
import Testing
import CorpusIO
@testable import Evaluation
@testable import Matching
import Indexing
import IndexStore
import Statistics
import Tokenization
import TestSupport

/// The definitions, by brute force over token lists: occurrences of a phrase at every position,
/// documents holding a question term and the answer, and non-overlapping occurrence pairs whose
/// starts are at most W apart.
func starts(_ doc: [String], _ phrase: [String]) -> [Int] {
    guard phrase.count <= doc.count else { return [] }
    return (0...(doc.count - phrase.count)).filter { Array(doc[$0..<($0 + phrase.count)]) == phrase }
}

@Suite struct CooccurTests {
    @Test func matchesBruteForce() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = Xoshiro256(seed: 5)
        let words = ["a", "b", "c", "d", "new", "york", "city", "paris", "france", "x", "y", "z"]
        var docs: [[String]] = []
        for _ in 0..<400 {
            let n = 1 + Int(rng.next(upperBound: UInt64(40)))
            docs.append((0..<n).map { _ in words[Int(rng.next(upperBound: UInt64(words.count)))] })
        }
        let index = try buildTestIndex(dir, docs: docs.map { $0.joined(separator: " ") }, orders: 2)
        // Questions with multi-token terms (aliases; one longer than the index's orders).
        let eval = dir + "/qa.jsonl"
        TestSupport.write(eval, """
        {"question": "Where is New York City?", "answer": ["x y", "z"], "ents": ["new york city", "a"]}
        {"question": "Paris France b?", "answer": "c", "ents": [["paris", "france paris"]]}
        {"question": "Is c like c?", "answer": "c", "ents": ["c", "d"]}
        {"question": "Nothing", "answer": "york city new", "ents": []}
        """)
        for window in [1, 3, 5] {
            var o = CooccurOptions(index: index, evals: [eval], corpus: [dir + "/corpus.jsonl"])
            o.questionTerms = [.field("ents")]
            o.window = window
            let rep = try cooccur(o) { _ in }
            #expect(rep.docs == 400)
            let r = try IndexReader(path: index)
            let stored = try r.cooccurQuestions(window: window)
            let termCounts = try r.targetedTermCounts()
            let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
            let ex = TermExtractor(specs: [.field("ents")], tokenizer: tok)
            let ax = TermExtractor(specs: [.answer], tokenizer: tok)
            var f = EvalFields(); f.termFields = ["ents"]; f.needCorrect = false
            let (rows, _) = try readEvalFiles([eval], fields: f, onError: .stop)
            for row in rows {
                let qt = ex.terms(of: row), a = ax.terms(of: row)[0]
                let terms = qt.filter { Set($0.aliases).isDisjoint(with: a.aliases) }
                var docsBoth: UInt64 = 0, hits: UInt64 = 0
                for d in docs {
                    let aOcc = a.aliases.map { (starts(d, $0), $0.count) }
                    guard aOcc.contains(where: { !$0.0.isEmpty }) else { continue }
                    var any = false
                    for t in terms {
                        let tOcc = t.aliases.map { (starts(d, $0), $0.count) }
                        if tOcc.contains(where: { !$0.0.isEmpty }) { any = true }
                        for (ts, tl) in tOcc { for (as_, al) in aOcc { for s in ts { for u in as_ {
                            if abs(s - u) <= window && !(s < u + al && u < s + tl) { hits += 1 }
                        } } } }
                    }
                    if any { docsBoth += 1 }
                }
                let sig = qaSignature(questionTerms: qt, answer: a)
                let got = try #require(stored[sig], "\(row.question)")
                #expect(got.docs == docsBoth, "\(row.question) docs")
                #expect(got.window == hits, "\(row.question) window \(window)")
                // Every term's occurrences and document frequency.
                for t in qt + [a] { for alias in t.aliases {
                    let occ = docs.map { starts($0, alias).count }
                    let c = try #require(termCounts[alias.joined(separator: " ")])
                    #expect(c.count == UInt64(occ.reduce(0, +)) && c.df == UInt64(occ.filter { $0 > 0 }.count), "\(alias)")
                } }
            }
        }
        // correlate reads the stored co-occurrence, and the long term is now counted.
        let results = dir + "/res.jsonl"
        TestSupport.write(results, """
        {"question": "Where is New York City?", "answer": ["x y", "z"], "ents": ["new york city", "a"], "correct": true}
        {"question": "Paris France b?", "answer": "c", "ents": [["paris", "france paris"]], "correct": false}
        """)
        var c = CorrelateOptions(index: index, evals: [results])
        c.qaCooccurrence = true
        c.questionTerms = [.field("ents")]
        c.measure = .df
        c.bootstrap = 10
        let rep = try correlate(c) { _ in }
        #expect(rep.questions.allSatisfy { $0.value != nil })
        c.qaCooccurrence = false
        c.terms = [.field("ents")]
        c.aggregate = .max
        let long = try correlate(c) { _ in }
        let nyc = try #require(long.questions[0].terms.first)
        #expect(nyc.source == .targeted && nyc.tokens == ["new", "york", "city"])
        #expect(nyc.count == UInt64(docs.map { starts($0, ["new", "york", "city"]).count }.reduce(0, +)))
    }

    /// The pair pass on random matches, with frequent patterns in many pairs (so every way of
    /// reaching a document's pairs is taken) against the definitions, document by document.
    /// Kandpal's relevant documents: the question entity whose pair with the answer has the most
    /// shared documents (`--relevant best-pair`), against brute force over the documents; and
    /// --min-term-count skipping rare terms.
    @Test func bestPairIsTheEntityWithTheMostSharedDocuments() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = Xoshiro256(seed: 8)
        let words = ["a", "b", "c", "d", "new", "york", "city", "paris", "france", "x", "y", "z", "mkae"]
        var docs: [[String]] = []
        for _ in 0..<300 {
            let n = 1 + Int(rng.next(upperBound: UInt64(30)))
            docs.append((0..<n).map { _ in words[Int(rng.next(upperBound: UInt64(words.count - 1)))] })
        }
        docs.append(["mkae"])
        let index = try buildTestIndex(dir, docs: docs.map { $0.joined(separator: " ") }, orders: 3)
        let eval = dir + "/qa.jsonl"
        TestSupport.write(eval, """
        {"question": "Where is New York City?", "answer": ["x y", "z"], "ents": ["new york city", "a", "b"], "correct": 1}
        {"question": "Paris France b?", "answer": "c", "ents": [["paris", "france paris"], "d"], "correct": 0}
        {"question": "Is c like d?", "answer": "y", "ents": ["c", "d", "x"], "correct": 1}
        """)
        var o = CooccurOptions(index: index, evals: [eval], corpus: [dir + "/corpus.jsonl"])
        o.questionTerms = [.field("ents")]
        _ = try cooccur(o) { _ in }
        var c = CorrelateOptions(index: index, evals: [eval])
        c.qaCooccurrence = true
        c.terms = []
        c.questionTerms = [.field("ents")]
        c.measure = .df
        c.bootstrap = 0
        let best = try questionFeatures(c) { _ in }     // field terms: best-pair by default
        c.relevant = .any
        let union = try questionFeatures(c) { _ in }
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let ex = TermExtractor(specs: [.field("ents")], tokenizer: tok), ax = TermExtractor(specs: [.answer], tokenizer: tok)
        for (i, q) in best.questions.enumerated() {
            let qt = ex.terms(of: q.row), a = ax.terms(of: q.row)[0]
            func holds(_ d: [String], _ t: Term) -> Bool { t.aliases.contains { !starts(d, $0).isEmpty } }
            let perTerm = qt.filter { Set($0.aliases).isDisjoint(with: a.aliases) }.map { t in docs.filter { holds($0, t) && holds($0, a) }.count }
            let anyDocs = docs.filter { d in holds(d, a) && qt.contains { Set($0.aliases).isDisjoint(with: a.aliases) && holds(d, $0) } }.count
            #expect(q.value == Double(perTerm.max()!), "question \(i): \(q.value ?? -1) vs \(perTerm)")
            #expect(union.questions[i].value == Double(anyDocs))
            #expect(q.value! <= union.questions[i].value!)
        }
        #expect(best.featureDescription.contains("the pair with the most"))
        // --min-term-count: the typo "mkae" (1 occurrence) is skipped, so the rarest term is another.
        TestSupport.write(eval, "{\"question\": \"mkae new city\", \"correct\": 1}\n")
        var m = CorrelateOptions(index: index, evals: [eval])
        m.bootstrap = 0
        var logged: [String] = []
        let plain = try questionFeatures(m) { logged.append($0) }
        #expect(plain.questions[0].value == 1)
        m.minTermCount = 2
        let skipped = try questionFeatures(m) { logged.append($0) }
        let newCount = docs.reduce(0) { $0 + starts($1, ["new"]).count }, cityCount = docs.reduce(0) { $0 + starts($1, ["city"]).count }
        #expect(skipped.questions[0].value == Double(min(newCount, cityCount)))
        #expect(skipped.skippedRareTerms == ["mkae"] && logged.contains { $0.contains("--min-term-count 2: 1 distinct term") })
    }

    /// On real text (the 10 MB enwiki sample, the 30k sample's titles as the gazetteer, NQ-open questions):
    /// the question entities and relevant documents equal a brute-force pass in Python with the
    /// independent tokenizer (`brute_relevant.py`). Skipped without ../shared.
    @Test func relevantDocumentsOnRealTextEqualABruteForcePass() throws {
        guard let corpus = TestSupport.shared("corpora/enwiki-sample-10MB.jsonl.zst"),
              let big = TestSupport.shared("corpora/enwiki-2015-wikiextractor-30k.jsonl.zst"),
              let nq = TestSupport.shared("eval/nq_open/NQ-open.dev.jsonl") else { return }
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var io = IndexOptions(inputs: [corpus], output: dir + "/i.sqlite")
        io.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 1, minCount: 1)
        io.tempDir = dir
        _ = try buildIndex(io) { _ in }
        // The 30,729 titles of the larger sample as entities; documents from the 10 MB one.
        let titles = try corpusFieldValues([big], field: "title", onError: .stop)
        TestSupport.write(dir + "/g.tsv", titles.map(\.name).joined(separator: "\n") + "\n")
        let lines = String(decoding: TestSupport.read(nq), as: UTF8.self).split(separator: "\n").prefix(400)
        TestSupport.write(dir + "/q.jsonl", lines.joined(separator: "\n") + "\n")
        TestSupport.write(dir + "/stop.txt", defaultStopwords.sorted().joined(separator: "\n") + "\n")
        var o = CooccurOptions(index: dir + "/i.sqlite", evals: [dir + "/q.jsonl"], corpus: [corpus])
        o.questionTerms = [.entities]
        o.entities = dir + "/g.tsv"
        o.fields.needCorrect = false
        _ = try cooccur(o) { _ in }
        var c = CorrelateOptions(index: dir + "/i.sqlite", evals: [dir + "/q.jsonl"])
        c.qaCooccurrence = true
        c.terms = []
        c.questionTerms = [.entities]
        c.entities = dir + "/g.tsv"
        c.measure = .df
        c.fields.needCorrect = false
        let best = try questionFeatures(c) { _ in }
        c.relevant = .any
        let any = try questionFeatures(c) { _ in }
        let script = TestSupport.packageRoot + "/Tests/EvaluationTests/brute_relevant.py"
        let (rc, out, err) = TestSupport.run("/usr/bin/python3", [script, corpus, dir + "/q.jsonl", dir + "/g.tsv", dir + "/stop.txt"])
        try #require(rc == 0, "\(err)")
        let ref = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [[String: Any]]
        #expect(ref.count == 400 && best.questions.count == 400)
        var withDocs = 0, withTerms = 0
        for (i, r) in ref.enumerated() {
            if (r["best"] as? Int) != nil { withTerms += 1 }
            let want = r["best"] as? Int, wantAny = r["any"] as? Int
            #expect(best.questions[i].value.map { Int($0) } == want, "question \(i) (\(r["entities"]!)): best \(best.questions[i].value ?? -1) vs \(want ?? -1)")
            #expect(any.questions[i].value.map { Int($0) } == wantAny, "question \(i): any \(any.questions[i].value ?? -1) vs \(wantAny ?? -1)")
            if (want ?? 0) > 0 { withDocs += 1 }
        }
        #expect(withDocs >= 2 && withTerms >= 30, "\(withDocs) questions with relevant documents, \(withTerms) with entities")
    }

    /// Razeghi's question-side pairs (`--pairs numbers,keywords:times,plus`): documents holding
    /// both sides and window hits, against the definitions; `correlate --unit pair` reads them.
    @Test func questionSidePairsMatchBruteForce() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = Xoshiro256(seed: 12)
        let words = ["3", "7", "12", "times", "plus", "apples", "x", "y", "3", "7", "z", "1,000"]
        var docs: [[String]] = []
        for _ in 0..<500 {
            let n = 1 + Int(rng.next(upperBound: UInt64(25)))
            docs.append((0..<n).map { _ in words[Int(rng.next(upperBound: UInt64(words.count)))] })
        }
        let index = try buildTestIndex(dir, docs: docs.map { $0.joined(separator: " ") }, orders: 1)
        let eval = dir + "/q.jsonl"
        TestSupport.write(eval, """
        {"question": "What is 3 times 7?", "answer": "21", "correct": 1}
        {"question": "What is 12 plus 3 plus 7?", "answer": "22", "correct": 0}
        {"question": "Are 7 apples and 1,000 apples 1007 apples?", "answer": "yes", "correct": 1}
        {"question": "What is 3 times 3?", "answer": "9", "correct": 0}
        """)
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        let spec = try #require(QuestionPairSpec("numbers,keywords:times,plus"))
        #expect(spec.numbers && spec.keywords == ["times", "plus"] && spec.description == "numbers,keywords:times,plus")
        #expect(QuestionPairSpec("numbers") == QuestionPairSpec(numbers: true) && QuestionPairSpec("letters") == nil && QuestionPairSpec("") == nil)
        var o = CooccurOptions(index: index, evals: [eval], corpus: [dir + "/corpus.jsonl"])
        o.pairs = spec
        o.window = 4
        let rep = try cooccur(o) { _ in }
        let stored = try IndexReader(path: index).cooccurPairs(window: 4)
        var f = EvalFields(); f.needCorrect = false
        let (rows, _) = try readEvalFiles([eval], fields: f, onError: .stop)
        var all = Set<String>()
        for row in rows {
            let pairs = questionSidePairs(row, spec, tokenizer: tok)
            for (x, y) in pairs {
                all.insert(aliasKey(x) + "\t" + aliasKey(y))
                let got = try #require(stored[aliasKey(x) + "\t" + aliasKey(y)], "\(x.text) & \(y.text)")
                var both: UInt64 = 0, hits: UInt64 = 0
                for d in docs.map({ tok.tokens(of: $0.joined(separator: " ")) }) {   // "1,000" is two tokens
                    let xs = starts(d, x.aliases[0]), ys = starts(d, y.aliases[0])
                    if !xs.isEmpty && !ys.isEmpty { both += 1 }
                    for s in xs { for u in ys where abs(s - u) <= 4 && s != u { hits += 1 } }
                }
                #expect(got.docs == both && got.window == hits, "\(x.text) & \(y.text): \(got) vs \(both), \(hits)")
            }
        }
        // 3&7, 3&times, 7&times; 12&3, 12&7, 3&7 (again), 12&plus, 3&plus, 7&plus;
        // 7&1,000, 7&1007, 1,000&1007; 3&times (again, and 3 once: no number pair): 11 distinct.
        #expect(all.count == 11 && rep.questionSidePairs == 11)
        // correlate --unit pair: each pair once, its accuracy averaged over the questions holding it.
        var c = CorrelateOptions(index: index, evals: [eval])
        c.unit = .pair
        c.pairs = spec
        c.window = 4
        c.measure = .df
        c.bootstrap = 0
        let r = try correlate(c) { _ in }
        #expect(r.termUnits.count == 11)
        let p37 = try #require(r.termUnits.first { $0.term == "3 & 7" })
        #expect(p37.questions == 2 && p37.accuracy == 0.5)
        let p3t = try #require(r.termUnits.first { $0.term == "3 & times" })
        #expect(p3t.questions == 2 && p3t.accuracy == 0.5)
        #expect(CorrelateRender.csv(r).hasPrefix("group,pair,window_count,docs,questions,accuracy,value,x\n"))
    }

    /// Question-side pairs on real text (GSM8K questions, the 10 MB enwiki sample) equal a
    /// brute-force Python pass with the independent tokenizer (`brute_pairs.py`). Skipped
    /// without ../shared.
    @Test func questionSidePairsOnRealTextEqualABruteForcePass() throws {
        guard let corpus = TestSupport.shared("corpora/enwiki-sample-10MB.jsonl.zst"),
              let gsm = TestSupport.shared("eval/gsm8k_test.jsonl") else { return }
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var io = IndexOptions(inputs: [corpus], output: dir + "/i.sqlite")
        io.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 1, minCount: 1)
        io.tempDir = dir
        _ = try buildIndex(io) { _ in }
        let lines = String(decoding: TestSupport.read(gsm), as: UTF8.self).split(separator: "\n").prefix(120)
        TestSupport.write(dir + "/q.jsonl", lines.joined(separator: "\n") + "\n")
        let spec = QuestionPairSpec(numbers: true, keywords: ["times", "each", "per"])
        var o = CooccurOptions(index: dir + "/i.sqlite", evals: [dir + "/q.jsonl"], corpus: [corpus])
        o.pairs = spec
        o.window = 5
        o.fields.needCorrect = false
        _ = try cooccur(o) { _ in }
        let stored = try IndexReader(path: dir + "/i.sqlite").cooccurPairs(window: 5)
        var f = EvalFields(); f.needCorrect = false
        let (rows, _) = try readEvalFiles([dir + "/q.jsonl"], fields: f, onError: .stop)
        let tok = Tokenizer(config: TokenizerConfig(caseFold: true))
        var keys: [String] = [], sides: [[[String]]] = []
        for r in rows { for (x, y) in questionSidePairs(r, spec, tokenizer: tok) {
            let k = aliasKey(x) + "\t" + aliasKey(y)
            if !keys.contains(k) { keys.append(k); sides.append([x.aliases[0], y.aliases[0]]) }
        } }
        #expect(keys.count > 200)
        let data = try JSONSerialization.data(withJSONObject: sides)
        TestSupport.write(dir + "/pairs.json", bytes: [UInt8](data))
        let (rc, out, err) = TestSupport.run("/usr/bin/python3", [TestSupport.packageRoot + "/Tests/EvaluationTests/brute_pairs.py",
                                                                   corpus, dir + "/pairs.json", "5"])
        try #require(rc == 0, "\(err)")
        let ref = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [[Int]]
        var nonzero = 0
        for (i, k) in keys.enumerated() {
            let got = try #require(stored[k], "\(k)")
            #expect(Int(got.docs) == ref[i][0] && Int(got.window) == ref[i][1], "\(k): \(got) vs \(ref[i])")
            if ref[i][1] > 0 { nonzero += 1 }
        }
        #expect(nonzero > 20)
    }

    /// `cooccur --shard K/N -o FILE` and `merge --into`: for N = 1, 3 and 7, by file and by
    /// document, the summed shards equal one cooccur over the whole corpus, row for row; a rerun
    /// skips a complete shard; incomplete sets, repeated shards and other runs are refused.
    @Test func shardedCooccurMergesToTheSingleRun() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var rng = Xoshiro256(seed: 21)
        let words = ["3", "7", "12", "times", "new", "york", "city", "paris", "a", "b", "c", "x"]
        var files: [String] = []
        for f in 0..<5 {
            var text = ""
            for _ in 0..<(40 + f * 13) {
                let n = 1 + Int(rng.next(upperBound: UInt64(20)))
                text += "{\"text\": \"" + (0..<n).map { _ in words[Int(rng.next(upperBound: UInt64(words.count)))] }.joined(separator: " ") + "\"}\n"
            }
            let path = dir + "/part-\(f).jsonl"
            TestSupport.write(path, text)
            files.append(path)
        }
        var io = IndexOptions(inputs: files, output: dir + "/base.sqlite")
        io.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 2, minCount: 1)
        io.tempDir = dir
        _ = try buildIndex(io) { _ in }
        let eval = dir + "/q.jsonl"
        TestSupport.write(eval, """
        {"question": "Is New York City 3 times 7?", "answer": ["x", "paris"]}
        {"question": "12 a b?", "answer": "c"}
        {"question": "Where is Paris?", "answer": "new york"}
        """)
        func options(_ index: String) -> CooccurOptions {
            var o = CooccurOptions(index: index, evals: [eval], corpus: files)
            o.pairs = QuestionPairSpec(numbers: true, keywords: ["times"])
            o.window = 3
            return o
        }
        func tables(_ index: String) throws -> [String] {
            let r = try IndexReader(path: index)
            let q = try r.cooccurQuestions(window: 3).map { "q \($0.key) \($0.value.docs) \($0.value.window)" }
            let p = try r.cooccurPairs(window: 3).map { "p \($0.key) \($0.value.docs) \($0.value.window)" }
            let t = try r.targetedTermCounts().map { "t \($0.key) \($0.value.count) \($0.value.df)" }
            return (q + p + t).sorted()
        }
        let single = dir + "/single.sqlite"
        try FileManager.default.copyItem(atPath: dir + "/base.sqlite", toPath: single)
        _ = try cooccur(options(single)) { _ in }
        let want = try tables(single)
        #expect(want.count > 20)
        for by in [ShardSpec.By.file, .doc] {
            for n in [1, 3, 7] {
                let merged = dir + "/m-\(by)-\(n).sqlite"
                try FileManager.default.copyItem(atPath: dir + "/base.sqlite", toPath: merged)
                var shards: [String] = []
                for k in 1...n {
                    var o = options(merged)
                    o.shard = ShardSpec(index: k, count: n, by: by)
                    o.shardOutput = dir + "/s-\(by)-\(n)-\(k).sqlite"
                    _ = try cooccur(o) { _ in }
                    shards.append(o.shardOutput!)
                }
                let r = try mergeTargetedShards(shards, into: merged)
                #expect(r.shards == n && r.docs == Int64(files.reduce(0) { $0 + TestSupport.read($1).filter { $0 == 10 }.count }))
                #expect(try tables(merged) == want, "by \(by), \(n) shards")
                if n == 3 {
                    // A rerun of shard 2 finds it complete and reads nothing.
                    var o = options(merged)
                    o.shard = ShardSpec(index: 2, count: 3, by: by)
                    o.shardOutput = shards[1]
                    #expect(try cooccur(o) { _ in }.alreadyComplete)
                    // Refused before writing: an incomplete set, a repeated shard, a shard of another run.
                    #expect { try mergeTargetedShards(Array(shards.prefix(2)), into: merged) } throws: { ($0 as? StoreError)?.description.contains("3/3 missing") ?? false }
                    #expect { try mergeTargetedShards(shards + [shards[0]], into: merged) } throws: { ($0 as? StoreError)?.description.contains("both shard 1/3") ?? false }
                    var other = options(merged)
                    other.window = 5
                    other.shard = ShardSpec(index: 3, count: 3, by: by)
                    other.shardOutput = dir + "/other.sqlite"
                    _ = try cooccur(other) { _ in }
                    #expect { try mergeTargetedShards(Array(shards.prefix(2)) + [other.shardOutput!], into: merged) } throws: {
                        ($0 as? StoreError).map { $0.description.contains("different --window") && $0.status == .dataError } ?? false
                    }
                }
            }
        }
    }

    /// A document with more window hits than the pass probes at once (its combinations are
    /// probed in rounds of a few thousand): every hit is counted.
    @Test func aDocumentDenseWithWindowHitsCountsThemAll() {
        // Pattern 0 (a question term, two tokens) and 1 (the answer, one token) in turn, then a
        // pattern of no pair; pair (0, 1) and pair (2, 1).
        let lengths: [Int32] = [2, 1, 1]
        let tables = PairTables(patternLength: lengths, pairTerm: [[0], [2]], pairAnswer: [[1], [1]], questionPairs: [[0, 1]])
        let window = 5
        var starts: [[Int32]] = [[], [], []]
        var pos: Int32 = 0
        for k in 0..<4000 {
            starts[0].append(pos); pos += 2
            starts[1].append(pos); pos += 1
            if k % 7 == 0 { starts[2].append(pos); pos += 1 }
        }
        var matches: [(Int32, Int32)] = []
        for p in 0..<3 { for s in starts[p] { matches.append((Int32(p), s + lengths[p] - 1)) } }
        matches.sort { $0.1 < $1.1 }
        let pass = PairPass(tables, window: window)
        pass.add(MatchBatch(patterns: matches.map(\.0), ends: matches.map(\.1), docEnds: [matches.count]))
        func hits(_ t: Int, _ a: Int) -> UInt64 {
            var h: UInt64 = 0
            for s in starts[t] { for u in starts[a] where abs(s - u) <= Int32(window) && !(s < u + lengths[a] && u < s + lengths[t]) { h += 1 } }
            return h
        }
        let got = PairTotals([pass])
        #expect(got.pairWindow == [hits(0, 1), hits(2, 1)])
        #expect(got.pairWindow[0] > UInt64(PairPass.passedCapacity) * 2)
        #expect(got.questionWindow == [hits(0, 1) + hits(2, 1)])
    }

    @Test func pairPassMatchesBruteForce() {
        var rng = Xoshiro256(seed: 11)
        func r(_ n: Int) -> Int { Int(rng.next(upperBound: UInt64(n))) }
        let nPatterns = 60
        let lengths = (0..<nPatterns).map { _ in Int32(1 + r(3)) }
        var pairTerm: [[Int32]] = [], pairAnswer: [[Int32]] = []
        for _ in 0..<400 {
            // Answers mostly from a few patterns; one to two aliases a side.
            pairTerm.append((0...r(2)).map { _ in Int32(10 + r(nPatterns - 10)) })
            pairAnswer.append((0...r(2)).map { _ in Int32(r(2) == 0 ? r(3) : r(nPatterns)) })
        }
        let questions = (0..<150).map { _ in (0...r(4)).map { _ in Int32(r(pairTerm.count)) } }
        // Batches of 37 documents (one block each) and of 150 (superblocks of several blocks:
        // the default, and of 1, 2 and 3 blocks).
        let configs: [(window: Int, words: Int?, every: Int)] = [(1, nil, 37), (4, nil, 37), (4, nil, 150), (4, 2, 150), (2, 3, 150), (1, 1, 150)]
        for (window, words, every) in configs {
            // Two workers given alternate batches.
            let tables = PairTables(patternLength: lengths, pairTerm: pairTerm, pairAnswer: pairAnswer, questionPairs: questions)
            let passes = [PairPass(tables, window: window, blockWords: words), PairPass(tables, window: window, blockWords: words)]
            var batches = 0
            var pairDocs = [UInt64](repeating: 0, count: pairTerm.count), pairWindow = pairDocs
            var qDocs = [UInt64](repeating: 0, count: questions.count), qWindow = qDocs
            var count = [UInt64](repeating: 0, count: nPatterns), df = count
            var batch = MatchBatch()
            for d in 0..<300 {
                let len = 1 + r(120)
                var starts = [[Int32]](repeating: [], count: nPatterns)
                var matches: [(Int32, Int32)] = []
                for p in 0..<nPatterns where r(p < 3 ? 1 : 4) == 0 {
                    let l = Int(lengths[p])
                    guard len >= l else { continue }
                    let k = p < 3 ? 1 + r(40) : 1 + r(3)
                    let s = Set((0..<k).map { _ in Int32(r(len - l + 1)) }).sorted()
                    starts[p] = s
                    for x in s { matches.append((Int32(p), x + Int32(l) - 1)) }
                }
                matches.sort { $0.1 < $1.1 }
                batch.patterns += matches.map(\.0); batch.ends += matches.map(\.1); batch.docEnds.append(batch.patterns.count)
                if d % every == every - 1 { passes[batches % 2].add(batch); batches += 1; batch = MatchBatch() }
                for p in 0..<nPatterns where !starts[p].isEmpty { count[p] += UInt64(starts[p].count); df[p] += 1 }
                var hit = [UInt64?](repeating: nil, count: pairTerm.count)
                for pid in 0..<pairTerm.count {
                    let ts = Set(pairTerm[pid]), as_ = Set(pairAnswer[pid])
                    guard ts.contains(where: { !starts[Int($0)].isEmpty }), as_.contains(where: { !starts[Int($0)].isEmpty }) else { continue }
                    var h: UInt64 = 0
                    for t in ts { for a in as_ { for s in starts[Int(t)] { for u in starts[Int(a)] {
                        if abs(s - u) <= Int32(window) && !(s < u + lengths[Int(a)] && u < s + lengths[Int(t)]) { h += 1 }
                    } } } }
                    hit[pid] = h
                    pairDocs[pid] += 1; pairWindow[pid] += h
                }
                for (qi, ps) in questions.enumerated() {
                    let present = Set(ps).compactMap { hit[Int($0)] }
                    if !present.isEmpty { qDocs[qi] += 1; qWindow[qi] += present.reduce(0, +) }
                }
            }
            passes[batches % 2].add(batch)
            let got = PairTotals(passes)
            #expect(passes[0].doc > 0 && passes[1].doc > 0)
            #expect(got.docs == 300)
            #expect(got.count == count && got.df == df)
            #expect(got.pairDocs == pairDocs && got.pairWindow == pairWindow)
            #expect(got.questionDocs == qDocs && got.questionWindow == qWindow)
            #expect(pairWindow.reduce(0, +) > 0)
        }
    }

    @Test func refusesACorpusTheIndexDidNotCount() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let index = try buildTestIndex(dir, docs: ["a b c"], orders: 1)
        let other = dir + "/other.jsonl"
        TestSupport.write(other, "{\"text\": \"a b\"}\n")
        let eval = dir + "/qa.jsonl"
        TestSupport.write(eval, "{\"question\": \"a?\", \"answer\": \"b\"}\n")
        let before = TestSupport.read(index)
        #expect(throws: CorrelateError.self) { try cooccur(CooccurOptions(index: index, evals: [eval], corpus: [other])) { _ in } }
        #expect(TestSupport.read(index) == before)
        // The same size as the source but other bytes: found by the checksum, after the pass and
        // before anything is stored.
        let sameSize = dir + "/same-size.jsonl"
        TestSupport.write(sameSize, "{\"text\": \"a b d\"}\n")
        #expect(TestSupport.read(sameSize).count == TestSupport.read(dir + "/corpus.jsonl").count)
        do {
            _ = try cooccur(CooccurOptions(index: index, evals: [eval], corpus: [sameSize])) { _ in }
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("no source has its size and checksum"))
        }
        #expect(TestSupport.read(index) == before)
    }

    /// A shard by file checks the checksums of the files it reads, not of the others (those are
    /// checked by the shards that read them); whether every source was given is told by sizes.
    @Test func aFileShardChecksOnlyItsOwnFiles() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let texts = ["a b c", "b c d e", "c d e f g"]
        var files: [String] = []
        for (k, t) in texts.enumerated() {
            files.append(dir + "/part-\(k).jsonl")
            TestSupport.write(files[k], "{\"text\": \"\(t)\"}\n")
        }
        var io = IndexOptions(inputs: files, output: dir + "/i.sqlite")
        io.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: 1, minCount: 1)
        io.tempDir = dir
        _ = try buildIndex(io) { _ in }
        let eval = dir + "/qa.jsonl"
        TestSupport.write(eval, "{\"question\": \"a c?\", \"answer\": \"d\"}\n")
        func run(_ corpus: [String], shard: Int) throws -> CooccurReport {
            var o = CooccurOptions(index: io.output, evals: [eval], corpus: corpus)
            o.shard = ShardSpec(index: shard, count: 3, by: .file)
            o.shardOutput = dir + "/s\(shard)-\(UUID().uuidString).sqlite"
            return try cooccur(o) { _ in }
        }
        // Every file given, unchanged: no source missing.
        #expect(try run(files, shard: 2).indexSourcesNotInCorpus == 0)
        // Without the third file: one source missing, told by size.
        #expect(try run(Array(files.prefix(2)), shard: 2).indexSourcesNotInCorpus == 1)
        // The first file changed but kept its size: the shard that reads it refuses it, the
        // others do not read it.
        TestSupport.write(files[0], "{\"text\": \"a b x\"}\n")
        #expect(try run(files, shard: 2).docs == 1)
        do {
            _ = try run(files, shard: 1)
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("part-0.jsonl is not a source"))
        }
    }

    /// A corpus file changed since it was indexed, keeping its size, is found out by its checksum
    /// (read while the rows are written, before they are committed): the run fails, the index is
    /// as it was and no shard file is left.
    @Test func aCorpusFileChangedInPlaceIsRefusedAndNothingIsStored() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let index = try buildTestIndex(dir, docs: (0..<3000).map { "paris is the capital of france number \($0)" }, orders: 1)
        let eval = dir + "/qa.jsonl"
        TestSupport.write(eval, "{\"question\": \"capital of france?\", \"answer\": \"paris\"}\n")
        let corpus = dir + "/corpus.jsonl"
        var bytes = TestSupport.read(corpus)
        let at = bytes.count - 5
        bytes[at] = bytes[at] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        TestSupport.write(corpus, bytes: bytes)
        let before = TestSupport.read(index)
        let shardFile = dir + "/s.sqlite"
        for shard in [false, true] {
            var o = CooccurOptions(index: index, evals: [eval], corpus: [corpus])
            if shard { o.shardOutput = shardFile }
            do {
                _ = try cooccur(o) { _ in }
                Issue.record("no error")
            } catch {
                #expect("\(error)".contains("corpus.jsonl is not a source"))
            }
            let unchanged = TestSupport.read(index) == before
            #expect(unchanged)
            #expect(!FileManager.default.fileExists(atPath: shardFile))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["corpus.jsonl", "i.sqlite", "qa.jsonl"])
    }

    /// The corpus is read from the start, while the eval files are read: a bad eval file still
    /// stops the run with its error, the reader stopped and the index unchanged.
    @Test func aBadEvalFileStopsTheRunThatStartedReading() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let index = try buildTestIndex(dir, docs: (0..<3000).map { "paris is the capital of france number \($0)" }, orders: 1)
        let eval = dir + "/qa.jsonl"
        TestSupport.write(eval, "{\"question\": \"capital of france?\", \"answer\": \"paris\"}\n{\"question\": \n")
        let before = TestSupport.read(index)
        do {
            _ = try cooccur(CooccurOptions(index: index, evals: [eval], corpus: [dir + "/corpus.jsonl"])) { _ in }
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("qa.jsonl:2:"))
        }
        #expect(TestSupport.read(index) == before)
    }

    /// One question under several models (rows with the same question and answer) has its terms
    /// extracted once; the counts are those of the file with each question once.
    @Test func repeatedRowsCountAsTheirQuestion() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let index = try buildTestIndex(dir, docs: ["paris is the capital of france", "the capital paris", "lyon in france", "berlin is a capital"], orders: 1)
        let qs = [("What is the capital of France?", "Paris"), ("Which city is in France?", "Lyon"), ("Capital of Germany?", "Berlin")]
        var once = "", repeated = ""
        for (q, a) in qs {
            once += "{\"question\": \"\(q)\", \"answer\": \"\(a)\"}\n"
            for m in ["m1", "m2", "m3"] { repeated += "{\"question\": \"\(q)\", \"answer\": \"\(a)\", \"model\": \"\(m)\"}\n" }
        }
        // The same question with another answer is another question.
        repeated += "{\"question\": \"Capital of Germany?\", \"answer\": \"Paris\", \"model\": \"m4\"}\n"
        once += "{\"question\": \"Capital of Germany?\", \"answer\": \"Paris\"}\n"
        TestSupport.write(dir + "/once.jsonl", once)
        TestSupport.write(dir + "/repeated.jsonl", repeated)
        var results: [[String]] = []
        for e in ["once", "repeated"] {
            let copy = dir + "/\(e).sqlite"
            TestSupport.write(copy, bytes: TestSupport.read(index))
            var o = CooccurOptions(index: copy, evals: [dir + "/\(e).jsonl"], corpus: [dir + "/corpus.jsonl"])
            o.window = 3
            let rep = try cooccur(o) { _ in }
            #expect(rep.questions == 4)
            let r = try IndexReader(path: copy)
            results.append((try r.cooccurQuestions(window: 3).map { "q \($0.key) \($0.value.docs) \($0.value.window)" }
                + (try r.cooccurPairs(window: 3).map { "p \($0.key) \($0.value.docs) \($0.value.window)" })
                + (try r.targetedTermCounts().map { "t \($0.key) \($0.value.count) \($0.value.df)" })).sorted())
        }
        #expect(results[0] == results[1])
        #expect(results[0].contains { $0.hasPrefix("p capital\tparis 2 ") })
    }

    @Test func automatonFindsOverlappingPatterns() {
        // Patterns: [1,2,3], [2,3], [3], [2,4], [1,2,4]; text 1 2 3 1 2 4.
        let pats: [[UInt32]] = [[1, 2, 3], [2, 3], [3], [2, 4], [1, 2, 4]]
        let a = TokenMatcher(TokenAutomaton(patterns: pats), tokens: 5)
        var node: Int32 = 0
        var found: [(Int, Int32)] = []
        for (i, t) in [1, 2, 3, 1, 2, 4].enumerated() {
            node = a.step(node, UInt32(t))
            for p in a.outputs(node) { found.append((i, p)) }
        }
        let got = Set(found.map { "\($0.0):\($0.1)" })
        #expect(got == ["2:0", "2:1", "2:2", "5:3", "5:4"])
        #expect(a.step(5, nil) == 0)
    }
}
