import CorpusIO
import Indexing
import IndexStore
import Statistics
import Tokenization
#if canImport(Glibc)
import Glibc
#endif

/// `best-pair` when the question terms are entities (a field or a gazetteer), else `any`.
public func defaultRelevant(_ specs: [TermSpec]) -> Relevant {
    specs.allSatisfy { if case .field = $0 { return true }; return $0 == .entities } ? .bestPair : .any
}

/// The gazetteer of `--entities`, required when a spec asks for entities.
func loadGazetteer(_ path: String?, specs: [TermSpec], tokenizer: Tokenizer, stopwords: Set<String>) throws -> Gazetteer? {
    guard specs.contains(.entities) else { return nil }
    guard let path else { throw UsageError("entities as terms need a gazetteer: --entities FILE (one entity a line, tab-separated aliases)") }
    return try Gazetteer(path: path, tokenizer: tokenizer, stopwords: stopwords)
}

/// How a question's term counts become one number.
public enum Aggregate: String, Sendable, CaseIterable {
    case min, max, mean, sum, product
}

/// What one observation of the statistics is.
public enum CorrelateUnit: String, Sendable, CaseIterable {
    /// A question: x from its aggregated terms, y its correctness.
    case question
    /// A distinct term (Razeghi et al. 2022): x from its count, y the accuracy averaged over the
    /// questions that hold it.
    case term
    /// A distinct question-side pair (`--pairs`): x from the documents (`--measure df`) or the
    /// window co-occurrences (`count`) that `cooccur --pairs` stored, y as for terms.
    case pair
}

/// One term as a unit of `--unit term`.
public struct TermUnit: Sendable {
    public let group: Int
    public let term: String
    public let count: UInt64?
    public let df: UInt64?
    /// The measure (count or df) the statistics use.
    public let value: Double
    public let questions: Int
    public let accuracy: Double
    public var x: Double { log10(value + 1) }
}

/// Which documents count as relevant to a question in `--terms qa-cooccurrence`.
public enum Relevant: String, Sendable, CaseIterable {
    /// Documents holding any question term and the answer (the union over question terms).
    case any
    /// Kandpal et al. (2022): the question-term/answer pair with the most shared documents (with
    /// entities as question terms, the best-linked entity pair).
    case bestPair = "best-pair"
}

/// Which count of a term is used.
public enum Measure: String, Sendable, CaseIterable {
    /// Occurrences in the corpus.
    case count
    /// Documents containing the term.
    case df
}

public struct CorrelateOptions: Sendable {
    public var index: String
    public var evals: [String]
    public var fields = EvalFields()
    /// Terms counted per question (`--terms`); empty with `qaCooccurrence`.
    public var terms: [TermSpec] = [.content]
    /// Use the targeted pass's per-question co-occurrence instead of term counts.
    public var qaCooccurrence = false
    /// Question-side terms of the co-occurrence (must match the `cooccur` run).
    public var questionTerms: [TermSpec] = [.content]
    public var window = 5
    /// With `qaCooccurrence`: the union of question terms, or the best pair (default: the best
    /// pair when the question terms are entities from a field, else the union).
    public var relevant: Relevant? = nil
    /// Statistics per question, or per distinct term (`--unit term`) or pair (`--unit pair`).
    public var unit: CorrelateUnit = .question
    /// The question-side pairs of `--unit pair` (as given to `cooccur --pairs`).
    public var pairs = QuestionPairSpec(numbers: true)
    /// Per-question features of an eval set without model results: no correctness is read and
    /// no statistics are computed (the CSV and JSON hold every question's terms and v).
    public var featuresOnly = false
    /// A gazetteer file for `--terms entities` / `--question-terms entities`.
    public var entities: String? = nil
    /// Terms counted fewer than this many times are skipped (misspellings in --aggregate min);
    /// a question whose terms are all below it has no countable term.
    public var minTermCount: UInt64 = 0
    public var aggregate: Aggregate = .min
    public var measure: Measure = .count
    public var bins = 10
    public var binScheme: BinScheme = .quantile
    public var bootstrap = 1000
    public var seed: UInt64 = 0
    public var gapQuantile = 0.1
    /// The group field that varies between compared groups (default: the last `--group-by` field).
    public var compare: String?
    /// Adjustment of the comparisons' p-values.
    public var adjust: PAdjust = .holm
    /// Fields entered into each group's logistic fit beside x (numeric, or categorical as indicators).
    public var covariates: [String] = []
    public var onError: ErrorPolicy = .stop
    public var stopwords: Set<String> = defaultStopwords

    public init(index: String, evals: [String]) {
        self.index = index
        self.evals = evals
    }
}

/// How one term was counted.
public struct CountedTerm: Sendable {
    public enum Source: String, Sendable {
        /// From the index's n-gram tables.
        case index
        /// From a targeted pass (`tailscope cooccur`), for terms longer than the index's orders.
        case targeted
        /// Longer than the index's orders and not counted by a targeted pass.
        case uncounted
    }
    public let text: String
    /// The alias that was counted (the most frequent one), as normalized tokens.
    public let tokens: [String]
    public let count: UInt64?
    public let df: UInt64?
    public let source: Source
}

/// One question with its feature.
public struct QuestionResult: Sendable {
    public let row: EvalRow
    public let group: Int
    public let terms: [CountedTerm]
    /// The aggregated measure (a count), nil when no term could be counted.
    public let value: Double?
    /// log10(value + 1).
    public var x: Double? { value.map { log10($0 + 1) } }
}

public struct Interval: Sendable {
    public let low: Double
    public let high: Double
    public func overlaps(_ o: Interval) -> Bool { low <= o.high && o.low <= high }
    public var isFinite: Bool { low.isFinite && high.isFinite }
}

/// Statistics of one group.
public struct GroupResult: Sendable {
    public let label: [String]
    public let n: Int
    /// Questions of the group without a countable term (left out of the statistics).
    public let withoutTerms: Int
    public let accuracy: Double
    public let accuracyCI: Interval
    public let spearman: Double
    public let spearmanP: Double
    public let spearmanCI: Interval
    public let kendall: Double
    public let kendallP: Double
    public let kendallCI: Interval
    public let pearson: Double
    public let pearsonP: Double
    public let logistic: LogisticFit?
    /// Why there is no logistic fit.
    public let logisticNote: String?
    /// Why the correlations and the fit are n/a (fewer than 10 questions, no variation in x).
    public let statisticsNote: String?
    /// Names of the logistic fit's coefficients after the slope (covariates), and notes on them.
    public let covariateNames: [String]
    public let covariateNotes: [String]
    /// Wald 95% interval of the slope.
    public var slopeCI: Interval? {
        logistic.map { Interval(low: $0.coef[1] - Distribution.z975 * $0.se[1], high: $0.coef[1] + Distribution.z975 * $0.se[1]) }
    }
    /// exp(slope): the odds of a correct answer multiply by this per 10x frequency.
    public var oddsRatioPer10x: Double? { logistic.map { exp($0.coef[1]) } }
    public let bins: [Bin]
    public let gap: Double
    public let gapCI: Interval
    public let gapTop: (n: Int, accuracy: Double)
    public let gapBottom: (n: Int, accuracy: Double)
    public let bootstrapValid: Int
}

public struct CorrelationReport: Sendable {
    public let options: CorrelateOptions
    public let indexMeta: [String: String]
    public let read: EvalReadReport
    public let groupFields: [String]
    public let groups: [GroupResult]
    public let questions: [QuestionResult]
    /// Groups that differ in the compared field only, paired over the questions they share.
    public let comparisons: [ArmComparison]
    /// With `--unit term`: the terms of each group (the units of its statistics).
    public let termUnits: [TermUnit]
    public let compareField: String?
    /// Distinct terms longer than the index's orders that no targeted pass counted.
    public let uncountedTerms: [String]
    /// True when the index dropped n-grams below --min-count, so absent n-grams may have count > 0.
    public let countsAreLowerBounds: Bool
    public let featureDescription: String
    /// Distinct terms skipped by --min-term-count.
    public let skippedRareTerms: [String]
    public let seconds: Double
}

public struct CorrelateError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The key under which `cooccur` stores a question's co-occurrence and `correlate` finds it:
/// the question terms' aliases and the answer's aliases, normalized and sorted.
public func qaSignature(questionTerms: [Term], answer: Term) -> String {
    qaSignature(questionTexts: questionTerms.map { $0.aliases.map(aliasText) }, answerTexts: answer.aliases.map(aliasText))
}

/// `qaSignature` from the texts of the terms' aliases (`aliasText`).
func qaSignature(questionTexts: [[String]], answerTexts: [String]) -> String {
    func joinedSorted(_ texts: [String]) -> String { texts.count == 1 ? texts[0] : texts.sorted().joined(separator: "|") }
    return questionTexts.map(joinedSorted).sorted().joined(separator: "\t") + "\u{1}" + joinedSorted(answerTexts)
}

/// An alias's text: its tokens joined by spaces.
@inline(__always) func aliasText(_ tokens: [String]) -> String { tokens.count == 1 ? tokens[0] : tokens.joined(separator: " ") }

/// Counts terms with the index (set-based lookups) and, for longer terms, the targeted tables.
public func countTerms(_ perRow: [[Term]], reader: IndexReader) throws -> [[CountedTerm]] {
    var aliasList: [[String]] = []
    var aliasIndex: [[String]: Int] = [:]
    for terms in perRow { for t in terms { for a in t.aliases where aliasIndex[a] == nil {
        aliasIndex[a] = aliasList.count; aliasList.append(a)
    } } }
    let fromIndex = try reader.counts(ngrams: aliasList)
    let targeted = try reader.targetedTermCounts()
    return perRow.map { terms in
        terms.map { t in
            var best: (tokens: [String], count: UInt64, df: UInt64, source: CountedTerm.Source)?
            for a in t.aliases {
                let c: (UInt64, UInt64, CountedTerm.Source)?
                if let hit = fromIndex[aliasIndex[a]!] {
                    c = (hit.count, hit.df, .index)
                } else if let hit = targeted[a.joined(separator: " ")] {
                    c = (hit.count, hit.df, .targeted)
                } else {
                    c = nil
                }
                if let c, best == nil || c.0 > best!.count { best = (a, c.0, c.1, c.2) }
            }
            guard let b = best else {
                return CountedTerm(text: t.text, tokens: t.aliases[0], count: nil, df: nil, source: .uncounted)
            }
            return CountedTerm(text: t.text, tokens: b.tokens, count: b.count, df: b.df, source: b.source)
        }
    }
}

func aggregate(_ values: [Double], _ how: Aggregate) -> Double? {
    guard !values.isEmpty else { return nil }
    switch how {
    case .min: return values.min()!
    case .max: return values.max()!
    case .sum: return values.reduce(0, +)
    case .mean: return values.reduce(0, +) / Double(values.count)
    case .product:
        if values.contains(0) { return 0 }
        // exp(sum of logs): the product of many large counts overflows gracefully to +inf.
        return exp(values.reduce(0) { $0 + log($1) })
    }
}

/// The per-question frequency features of an eval set: what `correlate` and `report` share.
public struct QuestionFeatures: Sendable {
    public let indexMeta: [String: String]
    public let read: EvalReadReport
    /// Group labels in order of first appearance; `questions[i].group` indexes them.
    public let labels: [[String]]
    public let questions: [QuestionResult]
    public let uncountedTerms: [String]
    public let countsAreLowerBounds: Bool
    public let featureDescription: String
    /// Distinct terms skipped by --min-term-count.
    public let skippedRareTerms: [String]
}

/// Reads the eval files, extracts each question's terms and counts them in the index (or reads
/// the stored co-occurrence for `qa-cooccurrence`). Rows keep correctness when the files have it.
public func questionFeatures(_ o: CorrelateOptions, log: (String) -> Void) throws -> QuestionFeatures {
    let reader = try IndexReader(path: o.index)
    let settings = try IndexSettings(meta: reader.meta)
    let tokenizer = Tokenizer(config: settings.tokenizer)
    let gazetteer = try loadGazetteer(o.entities, specs: o.terms + o.questionTerms, tokenizer: tokenizer, stopwords: o.stopwords)
    var fields = o.fields
    for c in o.covariates where !fields.extra.contains(c) { fields.extra.append(c) }
    let allSpecs = o.qaCooccurrence ? o.questionTerms + [.answer] : o.terms
    for s in allSpecs { if case .field(let f) = s { fields.termFields.append(f) } }
    fields.needAnswer = allSpecs.contains(.answer)
    let (rows, read) = try readEvalFiles(o.evals, fields: fields, onError: o.onError)
    for c in read.filters {
        let others = c.available.filter { $0 != c.chosen }
        log("\(c.path): lm-eval filter '\(c.chosen)' read\(others.isEmpty ? "" : "; the rows of \(others.joined(separator: ", ")) (\(c.dropped)) are left out (choose with --filter)")")
    }
    guard !rows.isEmpty else { throw CorrelateError("no eval rows were read from \(o.evals.joined(separator: ", "))") }

    // Groups, in order of first appearance.
    var groupIndex: [[String]: Int] = [:]
    var labels: [[String]] = []
    let rowGroup = rows.map { r -> Int in
        if let g = groupIndex[r.group] { return g }
        groupIndex[r.group] = labels.count
        labels.append(r.group)
        return labels.count - 1
    }

    var questions: [QuestionResult] = []
    var uncounted = Set<String>()
    var skippedRare = Set<String>()
    let description: String
    if o.qaCooccurrence {
        let qx = TermExtractor(specs: o.questionTerms, tokenizer: tokenizer, stopwords: o.stopwords, gazetteer: gazetteer)
        let ax = TermExtractor(specs: [.answer], tokenizer: tokenizer, stopwords: o.stopwords)
        let relevant = o.relevant ?? defaultRelevant(o.questionTerms)
        let stored = try reader.cooccurQuestions(window: o.window)
        let pairs = relevant == .bestPair ? try reader.cooccurPairs(window: o.window) : [:]
        if stored.isEmpty {
            throw CorrelateError("\(o.index) holds no co-occurrence counts for --window \(o.window); run `tailscope cooccur --index \(o.index) --eval ... --corpus ... --window \(o.window)` first")
        }
        var missing = 0
        for (i, r) in rows.enumerated() {
            let qt = qx.terms(of: r)
            guard let a = ax.terms(of: r).first, !qt.isEmpty else {
                questions.append(QuestionResult(row: r, group: rowGroup[i], terms: [], value: nil)); continue
            }
            if relevant == .bestPair {
                // The pair with the most shared documents (ties: the most window hits, then the first).
                let answerAliases = Set(a.aliases), ak = aliasKey(a)
                var best: (term: Term, docs: UInt64, window: UInt64)? = nil
                for t in qt where answerAliases.isDisjoint(with: t.aliases) {
                    guard let c = pairs[aliasKey(t) + "\t" + ak] else { continue }
                    let v = o.measure == .df ? (c.docs, c.window) : (c.window, c.docs)
                    if best == nil || v > (o.measure == .df ? (best!.docs, best!.window) : (best!.window, best!.docs)) { best = (t, c.docs, c.window) }
                }
                guard let b = best else {
                    missing += 1
                    questions.append(QuestionResult(row: r, group: rowGroup[i], terms: [], value: nil)); continue
                }
                let term = CountedTerm(text: "\(b.term.text) with \(a.text)", tokens: b.term.aliases[0], count: b.window, df: b.docs, source: .targeted)
                questions.append(QuestionResult(row: r, group: rowGroup[i], terms: [term], value: Double(o.measure == .df ? b.docs : b.window)))
                continue
            }
            // A question whose only terms are its answer has no question term to pair.
            let answerAliasSet = Set(a.aliases)
            guard qt.contains(where: { answerAliasSet.isDisjoint(with: $0.aliases) }) else {
                questions.append(QuestionResult(row: r, group: rowGroup[i], terms: [], value: nil)); continue
            }
            let sig = qaSignature(questionTerms: qt, answer: a)
            guard let c = stored[sig] else {
                missing += 1
                questions.append(QuestionResult(row: r, group: rowGroup[i], terms: [], value: nil)); continue
            }
            let v = o.measure == .df ? c.docs : c.window
            let term = CountedTerm(text: "\(a.text) with \(qt.count) question term(s)", tokens: a.aliases[0],
                                   count: c.window, df: c.docs, source: .targeted)
            questions.append(QuestionResult(row: r, group: rowGroup[i], terms: [term], value: Double(v)))
        }
        if missing > 0 {
            log("warning: \(missing) question(s) have no stored co-occurrence (the cooccur run used other eval rows or --question-terms); they are left out")
        }
        let qdesc = o.questionTerms.map(\.description).joined(separator: ",")
        if relevant == .bestPair {
            description = o.measure == .df
                ? "documents holding a question term (\(qdesc)) and the answer, for the pair with the most such documents"
                : "co-occurrences within \(o.window) tokens of the answer and the question term (\(qdesc)) with the most"
        } else {
            description = o.measure == .df
                ? "documents containing a question term (\(qdesc)) and the answer"
                : "co-occurrences of a question term and the answer within \(o.window) tokens"
        }
    } else {
        let ex = TermExtractor(specs: o.terms, tokenizer: tokenizer, stopwords: o.stopwords, gazetteer: gazetteer)
        // Several models answer the same question: terms that come from the question text alone
        // are extracted once per distinct text.
        let fromQuestionOnly = o.terms.allSatisfy { $0 == .numbers || $0 == .content }
        var memo: [String: [Term]] = [:]
        let perRow = rows.map { r -> [Term] in
            guard fromQuestionOnly else { return ex.terms(of: r) }
            if let t = memo[r.question] { return t }
            let t = ex.terms(of: r)
            memo[r.question] = t
            return t
        }
        let counted = try countTerms(perRow, reader: reader)
        for (i, r) in rows.enumerated() {
            let ts = counted[i]
            for t in ts where t.source == .uncounted { uncounted.insert(t.tokens.joined(separator: " ")) }
            var kept: [CountedTerm] = []
            for t in ts where t.count != nil {
                if t.count! < o.minTermCount { skippedRare.insert(t.tokens.joined(separator: " ")) } else { kept.append(t) }
            }
            let vals = kept.compactMap { o.measure == .df ? $0.df : $0.count }.map { Double($0) }
            questions.append(QuestionResult(row: r, group: rowGroup[i], terms: ts, value: aggregate(vals, o.aggregate)))
        }
        description = "\(o.aggregate.rawValue) \(o.measure == .df ? "document frequency" : "count") of the question's \(o.terms.map(\.description).joined(separator: ","))" + (o.minTermCount > 0 ? " counted at least \(o.minTermCount) times" : "")
        if !skippedRare.isEmpty {
            log("--min-term-count \(o.minTermCount): \(skippedRare.count) distinct term(s) counted fewer times were skipped, e.g. \(skippedRare.sorted().prefix(5).joined(separator: ", "))")
        }
    }
    if !uncounted.isEmpty {
        log("warning: \(uncounted.count) distinct term(s) are longer than the index's \(reader.maxOrder)-grams and were not counted by `tailscope cooccur`; questions use their other terms")
    }

    // With --min-count > 1 the index dropped rare n-grams of order >= 2: an absent one may occur.
    let lowerBounds = reader.minCount > 1 && questions.contains { $0.terms.contains { $0.tokens.count >= 2 && $0.source == .index } }
    return QuestionFeatures(indexMeta: reader.meta, read: read, labels: labels, questions: questions,
                            uncountedTerms: uncounted.sorted(), countsAreLowerBounds: lowerBounds,
                            featureDescription: description, skippedRareTerms: skippedRare.sorted())
}

/// `tailscope correlate`.
public func correlate(_ o: CorrelateOptions, log: (String) -> Void) throws -> CorrelationReport {
    let t0 = now()
    var fo = o
    if o.featuresOnly { fo.fields.needCorrect = false; fo.fields.correctIfPresent = false }
    let f = try questionFeatures(fo, log: log)
    let labels = f.labels, questions = f.questions
    if !o.featuresOnly, let r = questions.first(where: { $0.row.correct == nil }) {
        throw CorrelateError("\(r.row.file):\(r.row.line): no correctness (name it with --correct-field)")
    }

    // The units of each group: its questions, or its distinct terms (accuracy averaged over the
    // questions that hold the term, x from the term's own count).
    struct Unit { let key: String; let x: Double; let y: Double; let row: QuestionResult? }
    var units: [[Unit]] = []
    // --unit pair: the pairs `cooccur --pairs` stored for this window.
    var storedPairs: [String: (docs: UInt64, window: UInt64)] = [:]
    var pairTokenizer: Tokenizer? = nil
    var missingPairs = Set<String>()
    if o.unit == .pair {
        let reader = try IndexReader(path: o.index)
        pairTokenizer = Tokenizer(config: try IndexSettings(meta: reader.meta).tokenizer)
        storedPairs = try reader.cooccurPairs(window: o.window)
        if storedPairs.isEmpty {
            throw CorrelateError("\(o.index) holds no pair counts for --window \(o.window); run `tailscope cooccur --pairs \(o.pairs) --window \(o.window) ...` first")
        }
    }
    var termUnits: [TermUnit] = []
    for g in labels.indices {
        let qs = questions.filter { $0.group == g }
        if o.unit == .question || o.featuresOnly {
            units.append(qs.filter { $0.value != nil }.map { Unit(key: $0.row.key, x: $0.x!, y: $0.row.correct ?? .nan, row: $0) })
            continue
        }
        var order: [String] = []
        var acc: [String: (count: UInt64?, df: UInt64?, sum: Double, n: Int)] = [:]
        for q in qs {
            if o.unit == .pair {
                for (x, y) in questionSidePairs(q.row, o.pairs, tokenizer: pairTokenizer!) {
                    let k = aliasKey(x) + "\t" + aliasKey(y)
                    guard let c = storedPairs[k] else { missingPairs.insert(k); continue }
                    let key = x.aliases[0].joined(separator: " ") + " & " + y.aliases[0].joined(separator: " ")
                    if acc[key] == nil { order.append(key); acc[key] = (c.window, c.docs, 0, 0) }
                    acc[key]!.sum += q.row.correct!
                    acc[key]!.n += 1
                }
                continue
            }
            for t in q.terms {
                guard let c = t.count, c >= o.minTermCount else { continue }
                let key = t.tokens.joined(separator: " ")
                if acc[key] == nil { order.append(key); acc[key] = (t.count, t.df, 0, 0) }
                acc[key]!.sum += q.row.correct!
                acc[key]!.n += 1
            }
        }
        var us: [Unit] = []
        for key in order {
            let a = acc[key]!
            let v = Double(o.measure == .df ? (a.df ?? 0) : (a.count ?? 0))
            let tu = TermUnit(group: g, term: key, count: a.count, df: a.df, value: v, questions: a.n, accuracy: a.sum / Double(a.n))
            termUnits.append(tu)
            us.append(Unit(key: "term:" + key, x: tu.x, y: tu.accuracy, row: nil))
        }
        units.append(us)
    }
    if !missingPairs.isEmpty {
        log("warning: \(missingPairs.count) distinct question pair(s) have no stored count (the cooccur run used other eval rows, --pairs or --window); they are left out")
    }

    // Statistics per group.
    var groups: [GroupResult] = []
    for (g, label) in labels.enumerated() {
        let qs = questions.filter { $0.group == g }
        let us = units[g]
        let without = o.unit == .question ? qs.count - us.count : qs.filter { q in !q.terms.contains { ($0.count ?? 0) >= o.minTermCount && $0.count != nil } }.count
        if o.featuresOnly {
            groups.append(featuresOnlyGroup(label: label, n: us.count, withoutTerms: without))
            continue
        }
        let cov = o.unit == .question ? o.covariates.map { c in us.map { $0.row!.row.extra[c] ?? "" } } : []
        groups.append(groupStatistics(label: label, x: us.map(\.x), y: us.map(\.y), withoutTerms: without, options: o, seed: o.seed &+ UInt64(g),
                                      covariates: cov))
    }

    // Comparisons: groups equal in every group field but the compared one, paired over the
    // units they share (the same question by --id-field or text; the same term).
    let groupFields = o.fields.groupBy
    var comparisons: [ArmComparison] = []
    var compareField: String? = nil
    if !o.featuresOnly && groupFields.count >= 1 && labels.count >= 2 {
        let field = o.compare ?? groupFields.last!
        guard let k = groupFields.firstIndex(of: field) else {
            throw CorrelateError("--compare \(field) is not one of the --group-by fields (\(groupFields.joined(separator: ",")))")
        }
        compareField = field
        var pairs: [(Int, Int)] = []
        for a in 0..<labels.count {
            for b in (a + 1)..<labels.count {
                let la = labels[a], lb = labels[b]
                guard la[k] != lb[k], (0..<la.count).allSatisfy({ $0 == k || la[$0] == lb[$0] }) else { continue }
                pairs.append((a, b))
            }
        }
        if !pairs.isEmpty {
            var clusterOf: [String: Int] = [:]
            var arms: [Arm] = []
            for g in labels.indices {
                let c = units[g].map { u -> Int in
                    if let v = clusterOf[u.key] { return v }
                    clusterOf[u.key] = clusterOf.count
                    return clusterOf.count - 1
                }
                arms.append(Arm(x: units[g].map(\.x), y: units[g].map(\.y), cluster: c))
            }
            let resampled = armBootstrap(arms, clusterCount: clusterOf.count, resamples: o.bootstrap,
                                         seed: o.seed ^ 0xC0A1, gapQuantile: o.gapQuantile)
            comparisons = compareArms(pairs, arms: arms, resampled: resampled, gapQuantile: o.gapQuantile, adjust: o.adjust)
        }
    }
    return CorrelationReport(options: o, indexMeta: f.indexMeta, read: f.read, groupFields: groupFields, groups: groups,
                             questions: questions, comparisons: comparisons, termUnits: termUnits, compareField: compareField,
                             uncountedTerms: f.uncountedTerms, countsAreLowerBounds: f.countsAreLowerBounds,
                             featureDescription: f.featureDescription, skippedRareTerms: f.skippedRareTerms, seconds: now() - t0)
}

/// A group of an eval set without correctness: its size, and n/a for every statistic.
func featuresOnlyGroup(label: [String], n: Int, withoutTerms: Int) -> GroupResult {
    let nan = Interval(low: .nan, high: .nan)
    return GroupResult(label: label, n: n, withoutTerms: withoutTerms, accuracy: .nan, accuracyCI: nan,
                       spearman: .nan, spearmanP: .nan, spearmanCI: nan, kendall: .nan, kendallP: .nan, kendallCI: nan,
                       pearson: .nan, pearsonP: .nan, logistic: nil, logisticNote: nil,
                       statisticsNote: "--features-only: no correctness read", covariateNames: [], covariateNotes: [],
                       bins: [], gap: .nan, gapCI: nan, gapTop: (0, .nan), gapBottom: (0, .nan), bootstrapValid: 0)
}

/// `covariates` holds, per `o.covariates` field, its value on each row (entered into the logistic
/// fit beside x; the slope is then the one adjusted for them).
public func groupStatistics(label: [String], x: [Double], y: [Double], withoutTerms: Int, options o: CorrelateOptions, seed: UInt64,
                            covariates: [[String]] = []) -> GroupResult {
    let n = x.count
    let s = PairedSample(x: x, y: y)
    let w = s.ones
    let acc = n == 0 ? Double.nan : y.reduce(0, +) / Double(n)
    let accCI = wilsonInterval(successes: y.reduce(0, +), n: n)
    let cov = covariateColumns(covariates, names: covariates.isEmpty ? [] : o.covariates)
    // Fewer than 10 questions or a constant x: correlations and slopes are n/a, with the reason.
    let small = n == 0 ? "no question in this group has a countable term" : smallSampleReason(x: x)
    var rho = s.spearman(w), k = s.kendall(w), r = s.pearson(w)
    var fit: LogisticFit? = nil
    var note: String? = small
    if small != nil {
        rho = .nan; k = (.nan, .nan, .nan); r = .nan
    } else {
        do { fit = try logisticRegression(columns: [x] + cov.columns, y: y) } catch { note = error.description }
    }
    let q = o.gapQuantile
    let gap = small != nil ? (gap: Double.nan, top: 0, bottom: 0, topMean: Double.nan, bottomMean: Double.nan) : s.gap(q, w)
    let boot = bootstrap(count: small == nil ? n : 0, resamples: o.bootstrap, seed: seed, statistics: [
        { s.spearman($0) }, { s.kendall($0).tau }, { s.gap(q, $0).gap },
    ])
    let bins = binnedMeans(x: x, y: y, bins: o.bins, scheme: o.binScheme)
    return GroupResult(label: label, n: n, withoutTerms: withoutTerms, accuracy: acc,
                       accuracyCI: Interval(low: accCI.lo, high: accCI.hi),
                       spearman: rho, spearmanP: correlationPValue(rho, n: n),
                       spearmanCI: Interval(low: boot[0].low, high: boot[0].high),
                       kendall: k.tau, kendallP: k.p, kendallCI: Interval(low: boot[1].low, high: boot[1].high),
                       pearson: r, pearsonP: correlationPValue(r, n: n),
                       logistic: fit, logisticNote: note, statisticsNote: small,
                       covariateNames: cov.names, covariateNotes: cov.notes, bins: bins,
                       gap: gap.gap, gapCI: Interval(low: boot[2].low, high: boot[2].high),
                       gapTop: (gap.top, gap.topMean), gapBottom: (gap.bottom, gap.bottomMean),
                       bootstrapValid: boot.map(\.valid).min() ?? 0)
}
