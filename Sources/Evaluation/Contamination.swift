import Matching
import CorpusIO
import Counting
import Indexing
import Tokenization

/// Which eval questions share an n-gram (default 13 tokens, as in GPT-3's decontamination) with a
/// corpus: one streaming pass with a token-level Aho-Corasick automaton over every n-gram of every
/// question. Questions shorter than n tokens cannot be tested and are reported as such.
public struct ContaminationResult: Sendable {
    public let n: Int
    public let corpus: [String]
    /// Per question (in the order given): nil when shorter than n tokens, else whether any of its
    /// n-grams occurs in the corpus.
    public let shared: [Bool?]
    /// Documents holding at least one question n-gram.
    public let docsWithHits: Int64
    public let docs: Int64
    public let ngrams: Int
    public let seconds: Double
}

/// `shard` scans one slice of the corpus (by file or by document, as `index --shard`); the
/// shards' results combine with `ContaminationResult.merge` into the whole corpus's.
public func scanContamination(questions: [String], corpus: [String], n: Int, tokenizer: Tokenizer,
                              read: ReadOptions, progress: Bool = false, shard: ShardSpec = .whole) throws -> ContaminationResult {
    let t0 = now()
    let vocab = Vocabulary()
    var patterns: [[UInt32]] = []
    var patternIndex: [[UInt32]: Int32] = [:]
    var patternQuestions: [[Int32]] = []
    var tested = [Bool](repeating: false, count: questions.count)
    for (qi, q) in questions.enumerated() {
        let ids = tokenizer.tokens(of: q).map { t -> UInt32 in
            var b = Array(t.utf8)
            return b.withUnsafeMutableBytes { vocab.intern(UnsafeRawBufferPointer($0)) }
        }
        guard ids.count >= n else { continue }
        tested[qi] = true
        for i in 0...(ids.count - n) {
            let g = Array(ids[i..<(i + n)])
            let p: Int32
            if let x = patternIndex[g] { p = x } else {
                p = Int32(patterns.count); patterns.append(g); patternIndex[g] = p; patternQuestions.append([])
            }
            if patternQuestions[Int(p)].last != Int32(qi) { patternQuestions[Int(p)].append(Int32(qi)) }
        }
    }
    var hit = [Bool](repeating: false, count: questions.count)
    var docs: Int64 = 0, docsWithHits: Int64 = 0
    if !patterns.isEmpty {
        let matcher = TokenMatcher(TokenAutomaton(patterns: patterns), vocabulary: vocab)
        let tokens = TokenBuffer()
        let producer = CorpusStream(inputs: try expandInputs(corpus), read: read, shard: shard)
        defer { producer.stop() }
        var progressLine = ProgressLine(label: "contamination scan:", total: producer.totalBytes, enabled: progress)
        while let b = producer.queue.pop() {
            if let e = b.error { throw e }
            b.forEachDocument { text in
                tokenizer.tokenize(text, into: tokens)
                matcher.match(tokens)
                docs += 1
                if matcher.matchPattern.isEmpty { return }
                docsWithHits += 1
                for p in matcher.matchPattern { for q in patternQuestions[Int(p)] { hit[Int(q)] = true } }
            }
            producer.recycle(b)
            try checkInterrupt()
            producer.show(on: &progressLine)
        }
        progressLine.finish()
    } else {
        // Nothing to look for; the corpus still has to exist.
        _ = try expandInputs(corpus)
    }
    return ContaminationResult(n: n, corpus: corpus, shared: (0..<questions.count).map { tested[$0] ? hit[$0] : nil },
                               docsWithHits: docsWithHits, docs: docs, ngrams: patterns.count, seconds: now() - t0)
}


extension ContaminationResult {
    /// A fingerprint of the question list a scan looked for: shards of one scan share it.
    public static func fingerprint(questions: [String], n: Int) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for q in questions { for b in q.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }; h = (h ^ 0xFF) &* 0x0000_0100_0000_01B3 }
        return "\(questions.count):\(n):" + String(h, radix: 16)
    }

    /// The shard file of a scan: what `merge` needs, as JSON.
    public func shardJSON(shard: ShardSpec, fingerprint: String) -> JSON {
        .object([
            ("kind", .string("tailscope contamination shard")), ("n", .int(Int64(n))),
            ("corpus", .array(corpus.map { .string($0) })), ("questions", .string(fingerprint)),
            ("shard", .int(Int64(shard.index))), ("shards", .int(Int64(shard.count))), ("by", .string(shard.by.rawValue)),
            ("docs", .int(docs)), ("docs_with_hits", .int(docsWithHits)), ("ngrams", .int(Int64(ngrams))),
            ("shared", .array(shared.map { $0.map { .bool($0) } ?? .null })),
            ("complete", .bool(true)),
        ])
    }

    /// Combines the shards of one scan (the same corpus, n and questions; shards 1...N once each):
    /// a question shares an n-gram with the corpus when it does with some shard.
    public static func merge(shardFiles: [String], fingerprint: String) throws -> ContaminationResult {
        struct Shard { let path: String; let n: Int; let corpus: [String]; let questions: String; let shard: Int; let shards: Int
                       let docs: Int64; let hits: Int64; let ngrams: Int; let shared: [Bool?] }
        var shards: [Shard] = []
        for path in shardFiles {
            let bytes = try readAllBytes(path: path)
            guard let v = try? bytes.withUnsafeBytes({ try JSONValue.parse($0) }),
                  v.at(path: "kind")?.scalarText == "tailscope contamination shard" else {
                throw CorrelateError("\(path) is not a contamination shard (made by `report --corpus ... --shard K/N --contamination-shard FILE`)")
            }
            guard v.at(path: "complete")?.scalarText == "true" else { throw CorrelateError("\(path) is an incomplete contamination shard") }
            func int(_ k: String) -> Int64 { Int64(v.at(path: k)?.scalarText ?? "") ?? -1 }
            var corpus: [String] = [], shared: [Bool?] = []
            if case .array(let a)? = v.at(path: "corpus") { corpus = a.compactMap(\.scalarText) }
            if case .array(let a)? = v.at(path: "shared") { shared = a.map { if case .bool(let b) = $0 { return b }; return nil } }
            shards.append(Shard(path: path, n: Int(int("n")), corpus: corpus, questions: v.at(path: "questions")?.scalarText ?? "",
                                shard: Int(int("shard")), shards: Int(int("shards")), docs: int("docs"), hits: int("docs_with_hits"),
                                ngrams: Int(int("ngrams")), shared: shared))
        }
        guard let first = shards.first else { throw CorrelateError("no contamination shards given") }
        for s in shards {
            guard s.questions == fingerprint else { throw CorrelateError("\(s.path) scanned other questions (or another --contamination-n) than this report's") }
            guard s.n == first.n, s.corpus == first.corpus, s.shards == first.shards else {
                throw CorrelateError("\(s.path) and \(first.path) come from different scans (corpus, n or shard count)")
            }
        }
        var seen: [Int: String] = [:]
        for s in shards {
            if let o = seen[s.shard] { throw CorrelateError("\(s.path) and \(o) are both shard \(s.shard)/\(s.shards)") }
            seen[s.shard] = s.path
        }
        let missing = (1...max(1, first.shards)).filter { seen[$0] == nil }
        guard missing.isEmpty else { throw CorrelateError("incomplete set: contamination shard(s) \(missing.map { "\($0)/\(first.shards)" }.joined(separator: ", ")) missing") }
        var shared = first.shared
        for s in shards.dropFirst() {
            for (i, b) in s.shared.enumerated() where i < shared.count { if let b, b { shared[i] = true } }
        }
        return ContaminationResult(n: first.n, corpus: first.corpus, shared: shared,
                                   docsWithHits: shards.reduce(0) { $0 + $1.hits }, docs: shards.reduce(0) { $0 + $1.docs },
                                   ngrams: first.ngrams, seconds: 0)
    }
}
