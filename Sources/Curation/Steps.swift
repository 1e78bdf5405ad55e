import Support

/// What the decisions need to know about one document: computed by a worker from its text
/// (single process, or the plan phase, which stores it), and read back in global document order.
struct DocFeatures {
    var tokens: Int64
    var hashA: UInt64 = 0
    var hashB: UInt64 = 0
    var contam: Int32 = -1
    /// The MinHash signature, when the document has one.
    var signature: UnsafePointer<UInt32>? = nil
    var balanceKept = false
    var balanceEntry: Int32 = -1
    var balanceP = 0.0
    /// `--keep tail|head`: the score (NaN: no content term).
    var score = Double.nan

    init(tokens: Int64) { self.tokens = tokens }
}

/// Why a step drops a document, as the manifest records it.
struct Verdict {
    var reason: String
    var detail: String
    var matchDoc: Int64? = nil
    var similarity: Double? = nil
}

/// A step of `prune` that decides each document, in global document order, from its features
/// and what the step saw before it (documents are numbered 0, 1, ... across the inputs). It is
/// asked only about documents that every earlier step kept.
protocol DocumentFilter: AnyObject {
    var step: PruneStep { get }
    /// The reason codes it writes to the manifest.
    static var reasons: [String] { get }
    /// nil keeps the document.
    func decide(doc: Int64, _ f: DocFeatures) -> Verdict?
}

/// `--dedup exact`: the first document with a given normalized token sequence is kept.
final class ExactDedup: DocumentFilter {
    var step: PruneStep { .dedup }
    static let reasons = ["exact-duplicate"]
    private var firstOf: [Hash128: Int64] = [:]

    func decide(doc: Int64, _ f: DocFeatures) -> Verdict? {
        let h = Hash128(a: f.hashA, b: f.hashB)
        if let first = firstOf[h] {
            return Verdict(reason: "exact-duplicate", detail: "same normalized text as document \(first)", matchDoc: first)
        }
        firstOf[h] = doc
        return nil
    }
}

/// `--decontaminate FILE`: drops documents that share an n-gram with an eval row.
final class Decontaminate: DocumentFilter {
    var step: PruneStep { .decontaminate }
    static let reasons = ["eval-ngram"]
    private let ctx: PruneContext
    init(_ ctx: PruneContext) { self.ctx = ctx }

    func decide(doc: Int64, _ f: DocFeatures) -> Verdict? {
        guard f.contam >= 0 else { return nil }
        let src = ctx.contamSource[Int(f.contam)]
        return Verdict(reason: "eval-ngram", detail: "shares the \(ctx.o.contaminationN)-gram \"\(src.text)\" with \(src.file):\(src.line)")
    }
}

/// `--near-dup T`: drops a document whose MinHash signature estimates Jaccard similarity of at
/// least T with a kept earlier document (LSH candidates, each verified on the full signature).
final class NearDuplicates: DocumentFilter {
    var step: PruneStep { .nearDup }
    static let reasons = ["near-duplicate"]
    private let lsh: LSHIndex
    private let shingle: Int
    init(_ p: MinHashParams, shingle: Int) { lsh = LSHIndex(p); self.shingle = shingle }

    func decide(doc: Int64, _ f: DocFeatures) -> Verdict? {
        guard let sig = f.signature else { return nil }
        if let m = lsh.query(sig) {
            return Verdict(reason: "near-duplicate",
                           detail: "estimated Jaccard \(fmt(m.similarity, 3)) with document \(m.doc) (\(shingle)-token shingles)",
                           matchDoc: m.doc, similarity: m.similarity)
        }
        lsh.add(sig, doc: doc)
        return nil
    }
}

/// `--balance T`: MetaCLIP balancing. The draws were made per document (they depend only on the
/// seed, the document's place in its file and the entry); this step applies them and sums the
/// expected number of documents kept.
final class Balance: DocumentFilter {
    var step: PruneStep { .balance }
    static let reasons = ["no-entry", "not-sampled"]
    private let ctx: PruneContext
    private(set) var mean = 0.0
    private(set) var variance = 0.0
    init(_ ctx: PruneContext) { self.ctx = ctx }

    func decide(doc: Int64, _ f: DocFeatures) -> Verdict? {
        let p = f.balanceP
        mean += p
        variance += p * (1 - p)
        if f.balanceKept { return nil }
        let e = f.balanceEntry
        if e < 0 { return Verdict(reason: "no-entry", detail: "holds no balancing entry") }
        let c = ctx.entryC(e)
        return Verdict(reason: "not-sampled",
                       detail: "no entry sampled; rarest entry \"\(ctx.entryName(e))\" (c=\(c), p=\(fmt(min(1, ctx.o.balance! / Double(max(c, 1))), 4))); P(keep)=\(fmt(p, 4))")
    }
}

/// `--keep MODE`: decides nothing document by document; it selects after every document has
/// been seen (`selectKept`). Its reasons are "below-target" and "no-content-terms".
final class KeepSelection: DocumentFilter {
    var step: PruneStep { .keep }
    static let reasons = ["below-target", "no-content-terms"]
    func decide(doc: Int64, _ f: DocFeatures) -> Verdict? { nil }
}

/// The document-by-document steps in order, with their tallies: the one place decisions are
/// made, by single-process `prune` as it reads and by `prune --resolve` over the shards' plans.
final class Decider {
    let filters: [DocumentFilter]
    var summaries: [StepSummary]

    init(_ o: PruneOptions, _ ctx: PruneContext) {
        var f: [DocumentFilter] = []
        if o.dedupExact { f.append(ExactDedup()) }
        if !o.decontaminate.isEmpty { f.append(Decontaminate(ctx)) }
        if let p = ctx.minhash { f.append(NearDuplicates(p, shingle: o.shingle)) }
        if o.balance != nil { f.append(Balance(ctx)) }
        if o.keep != nil { f.append(KeepSelection()) }
        filters = f
        summaries = f.map { StepSummary(step: $0.step, parameters: parameters(of: $0.step, o, ctx)) }
    }

    var steps: [PruneStep] { filters.map(\.step) }

    /// The first step that drops document `doc` and why, or nil when every step keeps it.
    func decide(doc: Int64, _ f: DocFeatures) -> (step: PruneStep, verdict: Verdict)? {
        for (i, filter) in filters.enumerated() {
            summaries[i].docsIn += 1
            summaries[i].tokensIn += f.tokens
            if let v = filter.decide(doc: doc, f) {
                summaries[i].dropped += 1
                summaries[i].tokensDropped += f.tokens
                summaries[i].reasons[v.reason, default: (0, 0)].docs += 1
                summaries[i].reasons[v.reason, default: (0, 0)].tokens += f.tokens
                return (filter.step, v)
            }
        }
        return nil
    }

    /// Balancing's expected number of kept documents and its standard deviation.
    var balanceExpected: (mean: Double, sd: Double)? {
        guard let b = filters.lazy.compactMap({ $0 as? Balance }).first else { return nil }
        return (b.mean, b.variance.squareRoot())
    }
}

/// `--keep`: among the documents every other step kept (`decision` 0), keeps the best by score
/// up to the target and marks the rest with the keep step's code; calls `dropped` for each.
/// Returns the score of the last document kept.
func selectKept(_ mode: KeepMode, o: PruneOptions, decision: inout [UInt8], scores: [Float], docTokens: [Int32],
                summary: inout StepSummary, dropped: (_ doc: Int, _ reason: String, _ detail: String) throws -> Void) rethrows -> Double? {
    var cand: [Int32] = []
    for (i, d) in decision.enumerated() where d == 0 { cand.append(Int32(i)) }
    cand.sort { x, y in
        let a = scores[Int(x)], b = scores[Int(y)]
        if a.isNaN != b.isNaN { return !a.isNaN }
        if !a.isNaN && a != b { return mode.keepsLargest ? a > b : a < b }
        return x < y
    }
    var take = 0
    if let f = o.targetFraction {
        take = min(cand.count, Int((f * Double(decision.count)).rounded(.down)))
    } else if let n = o.targetTokens {
        var sum: Int64 = 0
        while take < cand.count, sum + Int64(docTokens[Int(cand[take])]) <= n {
            sum += Int64(docTokens[Int(cand[take])]); take += 1
        }
    }
    let cutoff = take > 0 ? Double(scores[Int(cand[take - 1])]) : nil
    for i in take..<cand.count {
        let doc = Int(cand[i])
        decision[doc] = PruneStep.keep.code
        let tokens = Int64(docTokens[doc])
        summary.dropped += 1
        summary.tokensDropped += tokens
        let s = Double(scores[doc])
        let reason = s.isNaN ? "no-content-terms" : "below-target"
        summary.reasons[reason, default: (0, 0)].docs += 1
        summary.reasons[reason, default: (0, 0)].tokens += tokens
        try dropped(doc, reason, s.isNaN ? "no content term to score" :
            "\(mode.rawValue) score \(fmt(s, 4)) is past the cutoff \(cutoff.map { fmt($0, 4) } ?? "-") of the \(take) documents kept"
            + (mode.usesPrototypes ? " (cosine distance to the nearest prototype)" : ""))
    }
    return cutoff
}

/// The key of a document for seeded draws: its input file's position and its number within the
/// file, so a draw is the same however the corpus is sharded.
@inline(__always) func documentKey(source: Int, position: Int64) -> UInt64 {
    UInt64(source) << 40 ^ UInt64(position)
}
