import CorpusIO
import Counting
import Synchronization
import Tokenization

/// One thread's share of counting: it takes document batches from its queue, tokenizes them and
/// counts tokens into its own vocabulary (and, with n-grams, hands id batches to the counter).
/// Per-file tallies stay in the lane until the run ends.
final class CountingLane: @unchecked Sendable {
    let queue: BoundedQueue<CorpusBatch>
    let tokenizer: Tokenizer
    private(set) var vocab: Vocabulary
    private(set) var counter: NGramCounter?
    private let tokens = TokenBuffer()

    /// Tokens and replaced invalid UTF-8 sequences, by file index.
    private(set) var fileTokens: [Int64]
    private(set) var fileInvalid: [Int64]
    /// What the reader reported at the end of each file this lane received the last batch of.
    private(set) var ends: [Int: FileEnd] = [:]
    /// The reader's error, when this lane received it.
    private(set) var error: Error?
    /// The vocabulary in token order, made on this thread once its queue closes (unigram
    /// counting, where the lanes' vocabularies are merged in token order).
    private(set) var sorted: SortedVocabulary?
    let docsCounted = Atomic<Int64>(0)
    let tokensCounted = Atomic<Int64>(0)

    /// Takes used batches back for reuse.
    let recycle: (CorpusBatch) -> Void
    /// Bytes this lane's vocabulary may hold (its share of `--memory`). Past them, between
    /// batches, `cut` writes what the lane counted so far as a segment (a complete partial index)
    /// and returns a fresh vocabulary and counter: the vocabulary spills with the n-gram tables.
    var vocabularyBudget = Int.max
    var cut: ((Vocabulary, NGramCounter?) throws -> (Vocabulary, NGramCounter?))? = nil
    private(set) var segments = 0

    init(queue: BoundedQueue<CorpusBatch>, recycle: @escaping (CorpusBatch) -> Void, tokenizer: Tokenizer, vocab: Vocabulary, counter: NGramCounter?, files: Int) {
        self.queue = queue
        self.recycle = recycle
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.counter = counter
        fileTokens = Array(repeating: 0, count: files)
        fileInvalid = Array(repeating: 0, count: files)
    }

    /// Counts until the queue closes. After an error it only drains the queue.
    func run() {
        var batch: [UInt32] = []
        let batchTarget = 1 << 20
        if counter != nil { batch.reserveCapacity(batchTarget + 4096) }
        var doc: UInt64 = 0
        while let b = queue.pop() {
            if error != nil { continue }
            if let e = b.error { error = e; continue }
            var n = Int64(0)
            let invalidBefore = tokenizer.invalidSequences
            b.forEachDocument { text in
                tokenizer.tokenize(text, into: tokens)
                let count = tokens.count
                if let c = counter {
                    let start = batch.count
                    batch.append(contentsOf: repeatElement(documentEnd, count: count + 1))
                    batch.withUnsafeMutableBufferPointer { ids in
                        vocab.countTokens(tokens.bytes, ends: tokens.ends, count: count, readable: tokens.readableBytes,
                                          doc: doc, ids: ids.baseAddress! + start)
                    }
                    if batch.count >= batchTarget {
                        c.add(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                } else {
                    // Unigrams only: the vocabulary is the whole count; no id batches needed.
                    vocab.countTokens(tokens.bytes, ends: tokens.ends, count: count, readable: tokens.readableBytes,
                                      doc: doc, ids: nil)
                }
                doc += 1
                n += Int64(count)
            }
            fileTokens[b.fileIndex] += n
            fileInvalid[b.fileIndex] += Int64(tokenizer.invalidSequences - invalidBefore)
            docsCounted.add(Int64(b.count), ordering: .relaxed)
            tokensCounted.add(n, ordering: .relaxed)
            if let end = b.endOfFile { ends[b.fileIndex] = end }
            recycle(b)
            if vocab.allocatedBytes > vocabularyBudget, let cut {
                do {
                    if let c = counter, !batch.isEmpty { c.add(batch); batch.removeAll(keepingCapacity: true) }
                    (vocab, counter) = try cut(vocab, counter)
                    segments += 1
                } catch {
                    self.error = error
                }
            }
        }
        if error != nil { return }
        if let c = counter {
            if !batch.isEmpty { c.add(batch) }
        } else if segments == 0 {
            sorted = SortedVocabulary(vocab)
        }
    }
}
