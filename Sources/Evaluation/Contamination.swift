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

public func scanContamination(questions: [String], corpus: [String], n: Int, tokenizer: Tokenizer,
                              options io: IndexOptions, progress: Bool = false) throws -> ContaminationResult {
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
        let matcher = TokenMatcher(TokenAutomaton(patterns: patterns), tokens: vocab.count)
        let tokens = TokenBuffer()
        let files = try expandInputs(corpus)
        let totalBytes = files.reduce(Int64(0)) { $0 + (fileSize($1) ?? 0) }
        var doneBytes: Int64 = 0
        var lastReport = now()
        let producer = DocumentProducer(files: files, options: io)
        defer { producer.stop() }
        while let b = producer.queue.pop() {
            if let e = b.error { throw e }
            b.forEachDocument { text in
                tokenizer.tokenize(text, into: tokens)
                matcher.match(tokens, vocab)
                docs += 1
                if matcher.matchPattern.isEmpty { return }
                docsWithHits += 1
                for p in matcher.matchPattern { for q in patternQuestions[Int(p)] { hit[Int(q)] = true } }
            }
            try checkInterrupt()
            if progress, now() - lastReport >= 0.5 {
                lastReport = now()
                printError("\r\u{1B}[Kcontamination scan: \(formatBytes(Double(doneBytes + b.fileOffset)))/\(formatBytes(Double(totalBytes))), \(docs) docs")
            }
            if b.endOfFile != nil { doneBytes += fileSize(files[b.fileIndex]) ?? 0 }
        }
        if progress { printError("\r\u{1B}[K") }
    } else {
        // Nothing to look for; the corpus still has to exist.
        _ = try expandInputs(corpus)
    }
    return ContaminationResult(n: n, corpus: corpus, shared: (0..<questions.count).map { tested[$0] ? hit[$0] : nil },
                               docsWithHits: docsWithHits, docs: docs, ngrams: patterns.count, seconds: now() - t0)
}
