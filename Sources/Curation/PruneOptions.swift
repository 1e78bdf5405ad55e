import Matching
import CorpusIO
import Counting
import Evaluation
import Indexing
import IndexStore
import Synchronization
import Tokenization

/// Which documents `--keep` prefers.
public enum KeepMode: String, Sendable, CaseIterable {
    /// Lowest score first: documents whose rarest content terms are rarest in the index.
    case tail
    /// The opposite of tail.
    case head
    /// Largest prototype distance first (Sorscher et al. 2022): documents far from every
    /// k-means centroid of hashed TF-IDF vectors.
    case hard
    /// Smallest prototype distance first: the most prototypical documents.
    case easy

    /// Whether the score is the distance to the nearest k-means prototype.
    public var usesPrototypes: Bool { self == .hard || self == .easy }
    /// Whether larger scores are kept first.
    var keepsLargest: Bool { self == .head || self == .hard }
}

/// The document vectors of `--keep hard|easy`.
public enum Prototypes {
    /// Hashed TF-IDF dimensions.
    public static let dims = 1024
    /// Documents sampled (bottom-k by a seeded hash of the document number) to fit k-means on.
    public static let sample = 20_000
    /// Lloyd iterations at most; they stop earlier once at most 0.1% of the sample changes cluster.
    public static let maxIterations = 50
    public static let tolerance = 0.001
}

/// The steps, in the order they run. Each sees only the documents the steps before it kept.
public enum PruneStep: String, Sendable, CaseIterable {
    case dedup
    case decontaminate
    case nearDup = "near-dup"
    case balance
    case keep

    var code: UInt8 { UInt8(Self.allCases.firstIndex(of: self)! + 1) }
}

public struct PruneOptions: Sendable {
    public var inputs: [String]
    /// The curated corpus; nil only with `dryRun`.
    public var output: String?
    public var manifest: String?
    public var index: String?
    public var read = ReadOptions()
    public var dedupExact = false
    public var nearDup: Double? = nil
    public var shingle = 5
    public var perms = 128
    public var decontaminate: [String] = []
    public var evalFields = EvalFields()
    public var contaminationN = 13
    public var balance: Double? = nil
    public var entriesFile: String? = nil
    public var keep: KeepMode? = nil
    public var targetFraction: Double? = nil
    public var targetTokens: Int64? = nil
    /// k-means clusters for `--keep hard|easy`.
    public var clusters = 100
    /// How many of a document's rarest content terms its tail score averages over.
    public var rarestK = 5
    public var seed: UInt64 = 0
    public var dryRun = false
    /// Eval files whose question terms' coverage is reported before and after.
    public var coverageEvals: [String] = []
    public var stopwords: Set<String> = defaultStopwords
    public var zstdLevel = 3
    public var progress = false
    public var workers = max(1, min(onlineCores(), 8))

    public init(inputs: [String]) { self.inputs = inputs }

    var anyStep: Bool { dedupExact || nearDup != nil || !decontaminate.isEmpty || balance != nil || keep != nil }
    var needsIndex: Bool { balance != nil || keep != nil }
}

/// A usage problem (exit 64 at the command line).
public struct PruneUsageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Read-only state every worker shares.
final class PruneContext: @unchecked Sendable {
    let o: PruneOptions
    let tokenizerConfig: TokenizerConfig
    let stopVocab = Vocabulary()

    // Decontamination: the token n-grams of the eval rows, their tokens, and where each came from.
    var contamVocab: Vocabulary? = nil
    var contamSet: NGramSet? = nil
    var contamSource: [(text: String, file: String, line: Int)] = []
    var contamRows = 0
    var contamUntestable = 0

    // The index's unigrams (balance entries and tail scores).
    var indexVocab: Vocabulary? = nil
    var indexCount: [UInt64] = []
    var indexDf: [UInt64] = []
    var indexDocs: Int64 = 0

    // Balance entries from --entries: phrases matched by an automaton, with their counts.
    var entryVocab: Vocabulary? = nil
    var entryAutomaton: TokenAutomaton? = nil
    var entryText: [String] = []
    var entryCount: [UInt64] = []

    var minhash: MinHashParams? = nil

    /// `--keep hard|easy`: the sampling threshold on a document's priority u(doc) (bits of a
    /// Double). Workers build vectors for documents below it; the main thread lowers it as the
    /// bottom-k sample fills.
    let sampleThreshold = Atomic<UInt64>(Double(1).bitPattern)

    init(_ o: PruneOptions, log: (String) -> Void) throws {
        self.o = o
        var config = TokenizerConfig()
        var reader: IndexReader? = nil
        if let path = o.index {
            let r = try IndexReader(path: path)
            config = TokenizerConfig(caseFold: r.caseFold)
            reader = r
        } else if o.needsIndex {
            throw PruneUsageError("--balance and --keep score documents with the index's counts: give --index")
        }
        tokenizerConfig = config
        let tokenizer = Tokenizer(config: config)
        for w in o.stopwords {
            for t in tokenizer.tokens(of: w) {
                var b = Array(t.utf8)
                _ = b.withUnsafeMutableBytes { stopVocab.intern(UnsafeRawBufferPointer($0)) }
            }
        }

        if !o.decontaminate.isEmpty {
            var fields = o.evalFields
            fields.needCorrect = false
            fields.correctIfPresent = false
            let (rows, _) = try readEvalFiles(o.decontaminate, fields: fields, onError: o.read.onError)
            let vocab = Vocabulary()
            var patterns: [[UInt32]] = []
            var seen: [[UInt32]: Int] = [:]
            let n = o.contaminationN
            for row in rows {
                var tested = false
                for text in [row.question] + row.answers {
                    let toks = tokenizer.tokens(of: text)
                    guard toks.count >= n else { continue }
                    tested = true
                    let ids = toks.map { t -> UInt32 in
                        var b = Array(t.utf8)
                        return b.withUnsafeMutableBytes { vocab.intern(UnsafeRawBufferPointer($0)) }
                    }
                    for i in 0...(ids.count - n) {
                        let g = Array(ids[i..<(i + n)])
                        if seen[g] != nil { continue }
                        seen[g] = patterns.count
                        patterns.append(g)
                        contamSource.append((toks[i..<(i + n)].joined(separator: " "), row.file, row.line))
                    }
                }
                contamRows += 1
                if !tested { contamUntestable += 1 }
            }
            contamVocab = vocab
            contamSet = NGramSet(n: n, patterns: patterns)
            log("decontaminate: \(patterns.count) distinct \(n)-grams from \(rows.count) eval rows"
                + (contamUntestable > 0 ? " (\(contamUntestable) rows have no text of \(n) tokens and cannot match)" : ""))
        }

        if let r = reader, o.needsIndex {
            let v = Vocabulary()
            try r.forEachToken { _, bytes, count, df in
                let id = v.intern(bytes)
                if Int(id) == indexCount.count {
                    indexCount.append(count)
                    indexDf.append(df)
                }
            }
            indexVocab = v
            indexDocs = try r.metadata.docs
        }

        if let path = o.entriesFile {
            guard let r = reader else { throw PruneUsageError("--entries needs --index for the entries' counts") }
            let bytes = try readAllBytes(path: path)
            var phrases: [[String]] = []
            var texts: [String] = []
            var seen = Set<[String]>()
            for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
                let toks = tokenizer.tokens(of: String(line))
                guard !toks.isEmpty, seen.insert(toks).inserted else { continue }
                if toks.count > r.maxOrder {
                    throw PruneUsageError("--entries: '\(line)' has \(toks.count) tokens but \(r.path) holds n-grams up to \(r.maxOrder); index with higher --orders")
                }
                phrases.append(toks)
                texts.append(toks.joined(separator: " "))
            }
            guard !phrases.isEmpty else { throw PruneUsageError("--entries: \(path) holds no entries") }
            let counts = try r.counts(ngrams: phrases)
            let vocab = Vocabulary()
            var patterns: [[UInt32]] = []
            for p in phrases {
                patterns.append(p.map { t in
                    var b = Array(t.utf8)
                    return b.withUnsafeMutableBytes { vocab.intern(UnsafeRawBufferPointer($0)) }
                })
            }
            entryVocab = vocab
            entryAutomaton = TokenAutomaton(patterns: patterns)
            entryText = texts
            entryCount = counts.map { $0?.df ?? 0 }
            log("balance: \(phrases.count) entries from \(path)")
        }

        if let t = o.nearDup {
            minhash = MinHashParams(threshold: t, shingle: o.shingle, perms: o.perms, seed: o.seed)
        }
    }

    /// The count c of balance entry `e` (documents containing it, from the index).
    @inline(__always) func entryC(_ e: Int32) -> UInt64 {
        entryAutomaton != nil ? entryCount[Int(e)] : indexDf[Int(e)]
    }

    func entryName(_ e: Int32) -> String {
        entryAutomaton != nil ? entryText[Int(e)] : indexVocab!.string(UInt32(e))
    }
}

extension PruneUsageError: ExitCoded { public var exitStatus: ExitStatus { .usage } }
