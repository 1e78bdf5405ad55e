#if canImport(Glibc)
import Glibc
#endif
import CorpusIO
import Evaluation
import Indexing
import IndexStore
import Statistics
import Tokenization

/// `tailscope report`: what the page, the Markdown and the JSON are made of.
public struct ReportOptions: Sendable {
    /// Index, eval files, field flags, --terms/--aggregate/--measure, bins, bootstrap, seed.
    public var features: CorrelateOptions
    /// Bucket edges on the question's value (rarest-term count by default): 0, [1, t1), ..., [tk, ∞).
    public var thresholds: [Double] = [10, 100, 1000, 10000]
    /// Corpus files to scan for shared n-grams (contamination); empty: not measured.
    public var corpus: [String] = []
    public var contaminationN = 13
    /// Reading options for the corpus (text field, format, error policy).
    public var read: IndexOptions = IndexOptions(inputs: [], output: "")
    public var rarest = 20
    public var progress = false

    public init(features: CorrelateOptions) { self.features = features }
}

public struct Bucket: Sendable {
    public let label: String
    public let lo: Double
    public let hi: Double
    public let n: Int
    public let share: Double
    /// Share of questions with value below `hi` (this bucket and those before it).
    public let cumulativeShare: Double
    /// With correctness: sum of correctness, accuracy and its Wilson 95% interval.
    public let correct: Double?
    public let accuracy: Double?
    public let ciLow: Double?
    public let ciHigh: Double?
}

public struct AnswerTail: Sendable {
    /// Questions with an answer; answers counted in the index; answers with count 0.
    public let withAnswers: Int
    public let counted: Int
    public let unseen: Int
    /// Answers longer than the index's orders (and not counted by `cooccur`).
    public let uncountable: Int
    public let unseenExamples: [String]
}

public struct EvalSetTail: Sendable {
    public let label: String
    public let n: Int
    public let withoutTerms: Int
    public let buckets: [Bucket]
    /// Decades: 0, [1, 10), [10, 100), ... up to the largest value.
    public let histogram: [Bucket]
    public let answers: AnswerTail?
    /// The questions with the smallest values, with their terms.
    public let rarest: [QuestionResult]
    /// Present when every question of the set has correctness.
    public let statistics: GroupResult?
    /// Questions tested for contamination (long enough) and those sharing an n-gram with the corpus.
    public let contaminationTested: Int?
    public let contaminationShared: Int?
}

public struct TailReport: Sendable {
    public let options: ReportOptions
    public let stats: IndexStatistics
    /// Share of all unigram occurrences covered by the k most frequent types.
    public let coverage: [(types: Int, share: Double)]
    /// (rank, count) at about 300 log-spaced ranks, for the rank-frequency plot.
    public let rankFrequency: [(rank: Int, count: UInt64)]
    public let features: QuestionFeatures
    public let groupFields: [String]
    public let sets: [EvalSetTail]
    public let contamination: ContaminationResult?
    public let seconds: Double
}

func bucketLabel(_ lo: Double, _ hi: Double) -> String {
    func c(_ v: Double) -> String {
        if v >= 1e6 && v.truncatingRemainder(dividingBy: 1e6) == 0 { return "\(Int(v / 1e6))M" }
        if v >= 1e3 && v.truncatingRemainder(dividingBy: 1e3) == 0 { return "\(Int(v / 1e3))k" }
        return v == v.rounded() ? "\(Int(v))" : Render.fixed(v, 1)
    }
    if hi == 0 { return "0" }
    if !hi.isFinite { return "≥\(c(lo))" }
    return lo == 0 ? "<\(c(hi))" : "\(c(lo))–<\(c(hi))"
}

/// Buckets: 0, (0, e1), [e1, e2), ..., [ek, ∞), with accuracy where correctness is known.
func buckets(_ qs: [QuestionResult], edges: [Double]) -> [Bucket] {
    let usable = qs.filter { $0.value != nil }
    var ranges: [(Double, Double)] = [(0, 0)]
    var lo = 0.0
    for e in edges { ranges.append((lo, e)); lo = e }
    ranges.append((lo, .infinity))
    var cum = 0
    let withCorrect = !usable.isEmpty && usable.allSatisfy { $0.row.correct != nil }
    return ranges.map { r in
        let inBucket = usable.filter { q in
            let v = q.value!
            return r.1 == 0 ? v == 0 : v > 0 && v >= r.0 && v < r.1
        }
        cum += inBucket.count
        let total = Double(max(1, usable.count))
        var k: Double? = nil, acc: Double? = nil, lo: Double? = nil, hi: Double? = nil
        if withCorrect && !inBucket.isEmpty {
            let s = inBucket.reduce(0) { $0 + $1.row.correct! }
            let w = wilsonInterval(successes: s, n: inBucket.count)
            k = s; acc = s / Double(inBucket.count); lo = w.lo; hi = w.hi
        }
        return Bucket(label: bucketLabel(r.0, r.1), lo: r.0, hi: r.1, n: inBucket.count, share: Double(inBucket.count) / total,
                      cumulativeShare: Double(cum) / total, correct: k, accuracy: acc, ciLow: lo, ciHigh: hi)
    }
}

/// Builds the report's data: index statistics, coverage and rank-frequency, the eval sets' tails,
/// correlate statistics where correctness is given, and contamination when a corpus is given.
public func buildTailReport(_ o: ReportOptions, log: (String) -> Void) throws -> TailReport {
    let t0 = now()
    var fo = o.features
    if fo.fields.groupBy.isEmpty { fo.fields.groupBy = ["file"] }
    fo.fields.needCorrect = false
    fo.fields.correctIfPresent = true
    let stats = try indexStatistics(path: fo.index)
    let reader = try IndexReader(path: fo.index)
    let desc = try reader.unigramCountsDescending()
    let total = Double(desc.reduce(0, +))
    var coverage: [(Int, Double)] = []
    var acc: UInt64 = 0
    var next = 10
    for (i, c) in desc.enumerated() {
        acc += c
        if i + 1 == next { coverage.append((next, Double(acc) / max(1, total))); next *= 10 }
    }
    if coverage.count < 5 { while next <= 100_000 { coverage.append((next, desc.isEmpty ? 0 : 1)); next *= 10 } }
    var rf: [(Int, UInt64)] = []
    var lastRank = 0
    for k in 0..<300 where !desc.isEmpty {
        let r = Int(pow(Double(desc.count), Double(k) / 299).rounded())
        if r > lastRank && r <= desc.count { rf.append((r, desc[r - 1])); lastRank = r }
    }

    let features = try questionFeatures(fo, log: log)

    // Answers, counted like terms (the most frequent alias counts).
    let settings = try IndexSettings(meta: reader.meta)
    let tokenizer = Tokenizer(config: settings.tokenizer)
    let ax = TermExtractor(specs: [.answer], tokenizer: tokenizer, stopwords: fo.stopwords)
    let answerTerms = features.questions.map { ax.terms(of: $0.row) }
    let answerCounts = try countTerms(answerTerms, reader: reader)

    var contamination: ContaminationResult? = nil
    if !o.corpus.isEmpty {
        var io = o.read
        io.inputs = o.corpus
        contamination = try scanContamination(questions: features.questions.map(\.row.question), corpus: o.corpus,
                                              n: o.contaminationN, tokenizer: tokenizer, options: io, progress: o.progress)
    }

    var sets: [EvalSetTail] = []
    for (g, label) in features.labels.enumerated() {
        let idx = features.questions.indices.filter { features.questions[$0].group == g }
        let qs = idx.map { features.questions[$0] }
        let usable = qs.filter { $0.value != nil }
        let maxV = usable.map { $0.value! }.max() ?? 0
        var decades: [Double] = []
        var e = 1.0
        while e <= maxV { e *= 10; decades.append(e) }
        var hist = buckets(qs, edges: decades)
        if hist.last?.n == 0 { hist.removeLast() }
        var answers: AnswerTail? = nil
        let withAnswers = idx.filter { !answerTerms[$0].isEmpty }
        if !withAnswers.isEmpty {
            let counted = withAnswers.filter { answerCounts[$0].first?.count != nil }
            let unseen = counted.filter { answerCounts[$0][0].count == 0 }
            answers = AnswerTail(withAnswers: withAnswers.count, counted: counted.count, unseen: unseen.count,
                                 uncountable: withAnswers.count - counted.count,
                                 unseenExamples: Array(Set(unseen.map { answerTerms[$0][0].text })).sorted().prefix(20).map { $0 })
        }
        let rarest = usable.enumerated().sorted { a, b in
            a.element.value! != b.element.value! ? a.element.value! < b.element.value! : a.offset < b.offset
        }.prefix(o.rarest).map(\.element)
        var stat: GroupResult? = nil
        if !usable.isEmpty && qs.allSatisfy({ $0.row.correct != nil }) {
            stat = groupStatistics(label: label, x: usable.map { $0.x! }, y: usable.map { $0.row.correct! },
                                   withoutTerms: qs.count - usable.count, options: fo, seed: fo.seed &+ UInt64(g))
        }
        var tested: Int? = nil, shared: Int? = nil
        if let c = contamination {
            let flags = idx.compactMap { c.shared[$0] }
            tested = flags.count; shared = flags.filter { $0 }.count
        }
        sets.append(EvalSetTail(label: label.joined(separator: " / "), n: qs.count, withoutTerms: qs.count - usable.count,
                                buckets: buckets(qs, edges: o.thresholds), histogram: hist, answers: answers,
                                rarest: Array(rarest), statistics: stat, contaminationTested: tested, contaminationShared: shared))
    }
    return TailReport(options: o, stats: stats, coverage: coverage, rankFrequency: rf, features: features,
                      groupFields: fo.fields.groupBy, sets: sets, contamination: contamination, seconds: now() - t0)
}
