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
    public var read = ReadOptions()
    public var rarest = 20
    public var progress = false
    /// When several models answered the same questions: the field naming the model. Question
    /// distributions are then shown once per question set, accuracy per model side by side, and a
    /// "Scale" section comes from `tailscope scaling` when every model has a size.
    public var modelField: String? = nil
    /// Contamination from the shard files of a sharded scan (`--contamination-shards`) instead
    /// of scanning `corpus` here.
    public var contaminationShards: [String] = []
    /// Sizes for the Scale section (`--sizes`, `--size-field`; else from the model names).
    public var sizes: [String: Double] = [:]
    public var sizeField: String? = nil

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
    /// With a model field: each model's accuracy per bucket and statistics on this question set.
    public let models: [ModelTail]
}

/// One model on one question set.
public struct ModelTail: Sendable {
    public let name: String
    public let buckets: [Bucket]
    public let statistics: GroupResult?
}

public struct TailReport: Sendable {
    public let options: ReportOptions
    public let stats: IndexStatistics
    /// Share of all unigram occurrences covered by the k most frequent types.
    public let coverage: [(types: Int, share: Double)]
    /// (rank, count) at about 300 log-spaced ranks, for the rank-frequency plot.
    public let rankFrequency: [(rank: Int, count: UInt64)]
    /// The Zipf exponent fitted where a power law is judged: least squares of log count on log
    /// rank over the log-spaced sample of ranks 10 to the last rank seen at least 5 times.
    public let zipfLogBinned: LogBinnedZipf?
    public let features: QuestionFeatures
    public let groupFields: [String]
    public let sets: [EvalSetTail]
    public let contamination: ContaminationResult?
    /// The Scale section (with a model field and sizes), or why it is missing.
    public let scaling: ScalingReport?
    public let scalingNote: String?
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

/// How the report reads the eval files: question sets are the groups without the model (read
/// beside them), per file by default; correctness where rows have it.
func reportFeatureOptions(_ o: ReportOptions) -> CorrelateOptions {
    var fo = o.features
    if let mf = o.modelField {
        fo.fields.groupBy.removeAll { $0 == mf }
        fo.fields.extra.append(mf)
    }
    if fo.fields.groupBy.isEmpty { fo.fields.groupBy = ["file"] }
    fo.fields.needCorrect = false
    fo.fields.correctIfPresent = true
    return fo
}

/// One shard of the report's contamination scan (`report --corpus ... --shard K/N
/// --contamination-shard FILE`): the questions as the report reads them, the slice of the corpus.
public func contaminationShard(_ o: ReportOptions, shard: ShardSpec, log: (String) -> Void) throws -> JSON {
    let fo = reportFeatureOptions(o)
    let features = try questionFeatures(fo, log: log)
    let reader = try IndexReader(path: fo.index)
    let tokenizer = Tokenizer(config: try IndexSettings(meta: reader.meta).tokenizer)
    let questions = features.questions.map(\.row.question)
    let r = try scanContamination(questions: questions, corpus: o.corpus, n: o.contaminationN, tokenizer: tokenizer,
                                  read: o.read, progress: o.progress, shard: shard)
    return r.shardJSON(shard: shard, fingerprint: ContaminationResult.fingerprint(questions: questions, n: o.contaminationN))
}

/// Builds the report's data: index statistics, coverage and rank-frequency, the eval sets' tails,
/// correlate statistics where correctness is given, and contamination when a corpus is given.
public func buildTailReport(_ o: ReportOptions, log: (String) -> Void) throws -> TailReport {
    let t0 = now()
    let fo = reportFeatureOptions(o)
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
    let rf = logSpacedRanks(desc)

    let features = try questionFeatures(fo, log: log)

    // Answers, counted like terms (the most frequent alias counts).
    let settings = try IndexSettings(meta: reader.meta)
    let tokenizer = Tokenizer(config: settings.tokenizer)
    let ax = TermExtractor(specs: [.answer], tokenizer: tokenizer, stopwords: fo.stopwords)
    let answerTerms = features.questions.map { ax.terms(of: $0.row) }
    let answerCounts = try countTerms(answerTerms, reader: reader)

    var contamination: ContaminationResult? = nil
    let questionTexts = features.questions.map(\.row.question)
    if !o.contaminationShards.isEmpty {
        contamination = try ContaminationResult.merge(shardFiles: o.contaminationShards,
                                                      fingerprint: ContaminationResult.fingerprint(questions: questionTexts, n: o.contaminationN))
    } else if !o.corpus.isEmpty {
        contamination = try scanContamination(questions: questionTexts, corpus: o.corpus,
                                              n: o.contaminationN, tokenizer: tokenizer, read: o.read, progress: o.progress)
    }

    var sets: [EvalSetTail] = []
    for (g, label) in features.labels.enumerated() {
        let allIdx = features.questions.indices.filter { features.questions[$0].group == g }
        // With several models, each question once (its first row) for the distributions.
        var idx = allIdx
        var modelTails: [ModelTail] = []
        if let mf = o.modelField {
            var seen = Set<String>()
            idx = allIdx.filter { seen.insert(features.questions[$0].row.key).inserted }
            var names: [String] = []
            for i in allIdx { let m = features.questions[i].row.extra[mf] ?? ""; if !names.contains(m) { names.append(m) } }
            // Smallest model first when sizes are known.
            names.sort { (o.sizes[$0] ?? parseModelSize($0, inName: true) ?? .infinity, $0) < (o.sizes[$1] ?? parseModelSize($1, inName: true) ?? .infinity, $1) }
            for (k, m) in names.enumerated() {
                let mq = allIdx.map { features.questions[$0] }.filter { ($0.row.extra[mf] ?? "") == m }
                let usable = mq.filter { $0.value != nil }
                var stat: GroupResult? = nil
                if !usable.isEmpty && mq.allSatisfy({ $0.row.correct != nil }) {
                    stat = groupStatistics(label: label + [m], x: usable.map { $0.x! }, y: usable.map { $0.row.correct! },
                                           withoutTerms: mq.count - usable.count, options: fo, seed: fo.seed &+ UInt64(g * 1000 + k))
                }
                modelTails.append(ModelTail(name: m, buckets: buckets(mq, edges: o.thresholds), statistics: stat))
            }
        }
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
        // Pooled over models, rows would not be independent: per-model statistics instead.
        if o.modelField == nil && !usable.isEmpty && qs.allSatisfy({ $0.row.correct != nil }) {
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
                                rarest: Array(rarest), statistics: stat, contaminationTested: tested, contaminationShared: shared,
                                models: modelTails))
    }
    // The Scale section: `tailscope scaling` over the same rows, one analysis per question set.
    var scalingReport: ScalingReport? = nil, scalingNote: String? = nil
    if let mf = o.modelField {
        var so = ScalingOptions(features: fo)
        so.features.fields.needCorrect = true
        so.features.fields.correctIfPresent = false
        so.features.fields.extra = []
        so.modelField = mf
        so.sizes = o.sizes
        so.sizeField = o.sizeField
        so.bucketEdges = o.thresholds
        do { scalingReport = try scaling(so) { _ in } } catch { scalingNote = "\(error)" }
    }
    return TailReport(options: o, stats: stats, coverage: coverage, rankFrequency: rf, zipfLogBinned: stats.zipfLogBinned, features: features,
                      groupFields: fo.fields.groupBy, sets: sets, contamination: contamination,
                      scaling: scalingReport, scalingNote: scalingNote, seconds: now() - t0)
}
