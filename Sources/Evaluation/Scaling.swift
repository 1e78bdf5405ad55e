import Support
import Statistics
#if canImport(Glibc)
import Glibc
#endif

/// `tailscope scaling`: does a bigger model close the gap between frequent and rare questions?
public struct ScalingOptions: Sendable {
    /// Index, eval files, fields, terms, aggregate, bootstrap, seed, gap quantile. Its
    /// `fields.groupBy` splits the rows into separate analyses (e.g. one per method).
    public var features: CorrelateOptions
    /// The field that names the model of a row.
    public var modelField = "model"
    /// Parameters per model name (`--sizes`); checked before `sizeField` and the name itself.
    public var sizes: [String: Double] = [:]
    /// A field holding each row's parameter count (`--size-field`).
    public var sizeField: String?
    /// Bucket edges on v (`--buckets 10,100,1000`: v < 10, 10 <= v < 100, ...); nil: quantiles.
    public var bucketEdges: [Double]? = nil
    /// Quantile buckets when no edges are given.
    public var bucketCount = 4
    /// The accuracy the rarest bucket must reach; default the most frequent bucket's accuracy at
    /// the largest size.
    public var targetAccuracy: Double? = nil
    /// Fields entered into the joint logistic fit (numeric, or categorical as indicators).
    public var covariates: [String] = []
    /// Fit on every row instead of the questions every model answered.
    public var unbalanced = false
    public var adjust: PAdjust = .holm

    public init(features: CorrelateOptions) { self.features = features }
}

/// Parameters from a size text: `6e9`, `175000000000`, or a number with a k/M/B/T suffix (`6B`,
/// `1.3b`, `350m`). With `inName`, the last `-`/`_`/`/`-separated part of a model name that has a
/// suffix (`gpt-j-6b`, `pythia-1.4b-deduped`, `Llama-2-7b-hf`); bare numbers in a name (the 2
/// of Llama-2) are not sizes.
public func parseModelSize(_ text: String, inName: Bool = false) -> Double? {
    func one(_ t: Substring) -> Double? {
        let s = t.lowercased()
        guard let last = s.last else { return nil }
        let mult: Double? = ["k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12][String(last)]
        if let mult, let v = Double(s.dropLast()), v > 0, v.isFinite { return v * mult }
        if !inName, let v = Double(s), v > 0, v.isFinite { return v }
        return nil
    }
    if !inName { return one(Substring(text.trimmingSpaces)) }
    let parts = text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == ".") })
    for p in parts.reversed() { if let v = one(p) { return v } }
    return nil
}

public struct ScalingModel: Sendable {
    public let name: String
    public let params: Double
    /// log10(params).
    public var s: Double { log10(params) }
    public let n: Int
    public let accuracy: Double
    public let accuracyCI: Interval
    /// This model's own logistic fit of correctness on x (model-based errors).
    public let slope: Estimate?
    public let slopeNote: String?
    /// The joint model's slope at this size, b1 + b3 (s - mean s), with clustered errors.
    public let jointSlope: Estimate?
    public let gap: Double
    public let gapCI: Interval
}

public struct ScalingBucket: Sendable {
    public let label: String
    /// Bounds on v; `lowerInclusive` says which side is closed.
    public let low: Double
    public let high: Double
    public let lowerInclusive: Bool
    public let questions: Int
    /// Per model (in `ScalingGroup.models` order): rows, correct, Wilson interval.
    public let n: [Int]
    public let accuracy: [Double]
    public let ci: [Interval]
    /// Accuracy linear in s over the distinct sizes (points: accuracy pooled over the models
    /// of a size): intercept and change per 10x parameters; nil with fewer than two sizes.
    public let linear: (intercept: Double, slope: Double)?
    /// logit(accuracy) linear in s, a binomial fit over the same points.
    public let logistic: (intercept: Double, slope: Double)?
}

/// When the rarest bucket reaches the target accuracy, extrapolated along one curve.
public struct Extrapolation: Sendable {
    public enum Curve: String, Sendable { case linear, logistic }
    public let curve: Curve
    public let target: Double
    /// log10 of the parameter count where the curve reaches the target; nil: never.
    public let crossing: Double?
    /// Why there is no crossing.
    public let reason: String?
    /// Percentile interval of `crossing` over question resamples (+inf: not reached).
    public let ci: Interval
    /// Share of valid resamples in which the curve never reaches the target.
    public let notReachedShare: Double
    public let sizesUsed: Int
}

public struct ScalingJoint: Sendable {
    public let fit: LogisticFit?
    public let note: String?
    /// Names of the coefficients, intercept first.
    public let names: [String]
    public let xMean: Double
    public let sMean: Double
    public let covariateNotes: [String]
    /// The interaction b3.
    public var interaction: Estimate? { fit?.estimate(3) }
}

public struct ScalingGroup: Sendable {
    public let label: [String]
    public let models: [ScalingModel]
    /// Questions answered by every model / by at least one.
    public let questionsAll: Int
    public let questionsAny: Int
    public let rowsUsed: Int
    public let rowsWithoutTerms: Int
    public let balanced: Bool
    public let joint: ScalingJoint
    public let buckets: [ScalingBucket]
    public let extrapolations: [Extrapolation]
    /// Neighbouring sizes compared, smaller first (`a`, `b` index `models`).
    public let comparisons: [ArmComparison]
    public let bootstrapValid: Int
    /// Why the group was not analysed (fewer than two sizes).
    public let note: String?
}

/// One row of the per-question CSV.
public struct ScalingRow: Sendable {
    public let question: QuestionResult
    public let model: String
    public let params: Double?
    public let used: Bool
}

public struct ScalingReport: Sendable {
    public let options: ScalingOptions
    public let indexMeta: [String: String]
    public let read: EvalReadReport
    public let groupFields: [String]
    public let groups: [ScalingGroup]
    public let rows: [ScalingRow]
    public let featureDescription: String
    public let countsAreLowerBounds: Bool
    /// Where each model's size came from.
    public let sizeSources: [String: String]
    public let seconds: Double
}

/// Reads the eval files, counts each question's terms, and fits the scaling analyses.
public func scaling(_ o: ScalingOptions, log: (String) -> Void) throws -> ScalingReport {
    let t0 = now()
    var fo = o.features
    fo.fields.extra = [o.modelField] + (o.sizeField.map { [$0] } ?? []) + o.covariates
    let f = try questionFeatures(fo, log: log)
    if let r = f.questions.first(where: { $0.row.correct == nil }) {
        throw CorrelateError("\(r.row.file):\(r.row.line): no correctness (name it with --correct-field)")
    }
    // Sizes per model.
    var params: [String: Double] = [:]
    var sources: [String: String] = [:]
    for q in f.questions {
        let m = q.row.extra[o.modelField] ?? ""
        var value: Double? = nil, source = ""
        if let v = o.sizes[m] { value = v; source = "--sizes" }
        else if let sf = o.sizeField, let t = q.row.extra[sf] {
            guard let v = parseModelSize(t) else {
                throw CorrelateError("\(q.row.file):\(q.row.line): --size-field \(sf) is '\(t)', not a parameter count (e.g. 6e9 or 6B)")
            }
            value = v; source = "--size-field \(sf)"
        } else if let v = parseModelSize(m, inName: true) { value = v; source = "the model name" }
        guard let v = value else {
            throw CorrelateError("no size for model '\(m)': give --sizes \(m)=PARAMS (or a CSV of model,params), or --size-field")
        }
        if let old = params[m], old != v {
            throw CorrelateError("model '\(m)' has two sizes (\(old) and \(v)); one model, one size")
        }
        params[m] = v; sources[m] = source
    }

    var groups: [ScalingGroup] = []
    var rows: [ScalingRow] = []
    for (g, label) in f.labels.enumerated() {
        let qs = f.questions.filter { $0.group == g }
        let (group, used) = try analyseGroup(label: label, questions: qs, params: params, options: o, seed: o.features.seed &+ UInt64(g))
        groups.append(group)
        for (i, q) in qs.enumerated() {
            let m = q.row.extra[o.modelField] ?? ""
            rows.append(ScalingRow(question: q, model: m, params: params[m], used: used[i]))
        }
    }
    if groups.allSatisfy({ $0.note != nil }) {
        throw CorrelateError(groups.first?.note ?? "no rows")
    }
    return ScalingReport(options: o, indexMeta: f.indexMeta, read: f.read, groupFields: o.features.fields.groupBy,
                         groups: groups, rows: rows, featureDescription: f.featureDescription,
                         countsAreLowerBounds: f.countsAreLowerBounds, sizeSources: sources, seconds: now() - t0)
}

/// The bucket of each v, with labels.
struct Buckets {
    let edges: [Double]
    let lowerInclusive: Bool

    /// Quantile edges of the questions' v, or the user's edges.
    init(values: [Double], userEdges: [Double]?, count: Int) {
        if let e = userEdges {
            edges = e.sorted()
            lowerInclusive = true
        } else {
            let s = values.sorted()
            var e: [Double] = []
            for i in 1..<max(count, 1) {
                let q = Quantile.linear(sorted: s, Double(i) / Double(count))
                if e.last != q { e.append(q) }
            }
            edges = e
            lowerInclusive = false
        }
    }

    var count: Int { edges.count + 1 }

    func index(_ v: Double) -> Int {
        var i = 0
        while i < edges.count && (lowerInclusive ? v >= edges[i] : v > edges[i]) { i += 1 }
        return i
    }

    func bounds(_ i: Int) -> (Double, Double) {
        (i == 0 ? 0 : edges[i - 1], i == edges.count ? .infinity : edges[i])
    }

    func label(_ i: Int) -> String {
        func c(_ v: Double) -> String { v.rounded() == v && abs(v) < 1e15 ? "\(Int64(v))" : Render.fixed(v, 1) }
        if edges.isEmpty { return "all" }
        if lowerInclusive {
            if i == 0 { return "v < \(c(edges[0]))" }
            if i == edges.count { return "v ≥ \(c(edges[i - 1]))" }
            return "\(c(edges[i - 1])) ≤ v < \(c(edges[i]))"
        }
        if i == 0 { return "v ≤ \(c(edges[0]))" }
        if i == edges.count { return "v > \(c(edges[i - 1]))" }
        return "\(c(edges[i - 1])) < v ≤ \(c(edges[i]))"
    }
}

/// Covariates as design columns: a field whose values all parse as numbers enters as it is; any
/// other as indicators for each level but the first (sorted). Constant fields are left out.
func covariateColumns(_ values: [[String]], names: [String]) -> (columns: [[Double]], names: [String], notes: [String]) {
    var columns: [[Double]] = [], out: [String] = [], notes: [String] = []
    for (cv, vals) in zip(names, values) {
        let numeric = vals.map { Double($0.trimmingSpaces) }
        if numeric.allSatisfy({ $0 != nil }) {
            let col = numeric.map { $0! }
            if col.allSatisfy({ $0 == col.first }) { notes.append("\(cv) is constant here and was left out"); continue }
            columns.append(col); out.append(cv)
        } else {
            let levels = Array(Set(vals)).sorted()
            if levels.count < 2 { notes.append("\(cv) is constant here and was left out"); continue }
            for l in levels.dropFirst() { columns.append(vals.map { $0 == l ? 1 : 0 }); out.append("\(cv)=\(l)") }
            notes.append("\(cv): indicators against \(cv)=\(levels[0])")
        }
    }
    return (columns, out, notes)
}

/// OLS of y on s (two or more distinct s).
func lineFit(_ s: [Double], _ y: [Double]) -> (intercept: Double, slope: Double)? {
    simpleRegression(s, y).map { ($0.intercept, $0.slope) }
}

/// Where a fitted curve reaches `target` (log10 params), or +infinity when it never does
/// (slope not positive, or a logistic target outside (0, 1)); NaN when there is no curve.
func crossing(_ fit: (intercept: Double, slope: Double)?, target: Double, logistic: Bool) -> Double {
    guard let fit, target.isFinite else { return .nan }
    if logistic && (target <= 0 || target >= 1) { return .infinity }
    guard fit.slope > 0 else { return .infinity }
    let t = logistic ? log(target / (1 - target)) : target
    return (t - fit.intercept) / fit.slope
}

func analyseGroup(label: [String], questions qs: [QuestionResult], params: [String: Double], options o: ScalingOptions,
                  seed: UInt64) throws -> (ScalingGroup, [Bool]) {
    var used = [Bool](repeating: false, count: qs.count)
    let withTerms = qs.indices.filter { qs[$0].value != nil }
    let modelNames = Array(Set(withTerms.map { qs[$0].row.extra[o.modelField] ?? "" }))
        .sorted { (params[$0] ?? 0, $0) < (params[$1] ?? 0, $1) }
    let modelIndex = Dictionary(uniqueKeysWithValues: modelNames.enumerated().map { ($1, $0) })
    func empty(_ note: String) -> (ScalingGroup, [Bool]) {
        (ScalingGroup(label: label, models: [], questionsAll: 0, questionsAny: 0, rowsUsed: 0,
                      rowsWithoutTerms: qs.count - withTerms.count, balanced: !o.unbalanced,
                      joint: ScalingJoint(fit: nil, note: note, names: [], xMean: .nan, sMean: .nan, covariateNotes: []),
                      buckets: [], extrapolations: [], comparisons: [], bootstrapValid: 0,
                      note: (label.isEmpty ? "" : label.joined(separator: " / ") + ": ") + note), used)
    }
    let distinctSizes = Set(modelNames.compactMap { params[$0] }).sorted()
    guard distinctSizes.count >= 2 else {
        return empty("\(modelNames.count) model(s) with \(distinctSizes.count) size(s): scaling needs at least two sizes (name the model field with --model-field)")
    }
    // Questions (clusters) and which models answered them.
    var keyIndex: [String: Int] = [:]
    var keyModels: [Set<Int>] = []
    var keyValue: [Double] = []
    for i in withTerms {
        let q = qs[i]
        let k: Int
        if let v = keyIndex[q.row.key] { k = v } else {
            k = keyModels.count; keyIndex[q.row.key] = k; keyModels.append([]); keyValue.append(q.value!)
        }
        keyModels[k].insert(modelIndex[q.row.extra[o.modelField] ?? ""]!)
    }
    let m = modelNames.count
    let complete = keyModels.map { $0.count == m }
    let questionsAll = complete.filter { $0 }.count
    for i in withTerms where o.unbalanced || complete[keyIndex[qs[i].row.key]!] { used[i] = true }
    let rowsIdx = qs.indices.filter { used[$0] }
    guard !rowsIdx.isEmpty else {
        return empty("no question was answered by all \(m) models (use --unbalanced to fit on every row)")
    }
    // Dense clusters over the used rows.
    var cluster: [Int: Int] = [:]
    for i in rowsIdx { let k = keyIndex[qs[i].row.key]!; if cluster[k] == nil { cluster[k] = cluster.count } }
    let clusterOf = rowsIdx.map { cluster[keyIndex[qs[$0].row.key]!]! }
    let x = rowsIdx.map { qs[$0].x! }, v = rowsIdx.map { qs[$0].value! }
    let y = rowsIdx.map { qs[$0].row.correct! }
    let model = rowsIdx.map { modelIndex[qs[$0].row.extra[o.modelField] ?? ""]! }
    let sOf = modelNames.map { log10(params[$0]!) }
    let s = model.map { sOf[$0] }
    let nRows = rowsIdx.count

    // Joint fit: centered x and s, their product, covariates; errors clustered by question.
    let xMean = x.reduce(0, +) / Double(nRows), sMean = s.reduce(0, +) / Double(nRows)
    let xc = x.map { $0 - xMean }, sc = s.map { $0 - sMean }
    var columns = [xc, sc, zip(xc, sc).map { $0 * $1 }]
    var names = ["intercept", "x", "s", "x:s"]
    let cov = covariateColumns(o.covariates.map { cv in rowsIdx.map { qs[$0].row.extra[cv] ?? "" } }, names: o.covariates)
    columns += cov.columns
    names += cov.names
    let covNotes = cov.notes
    var joint: LogisticFit? = nil, jointNote: String? = nil
    if nRows < 10 { jointNote = "fewer than 10 rows" } else {
        do { joint = try logisticRegression(columns: columns, y: y, clusters: clusterOf) } catch { jointNote = error.description }
    }

    // Per model.
    var arms: [Arm] = []
    for k in 0..<m {
        let ix = (0..<nRows).filter { model[$0] == k }
        arms.append(Arm(x: ix.map { x[$0] }, y: ix.map { y[$0] }, cluster: ix.map { clusterOf[$0] }))
    }
    let q = o.features.gapQuantile

    // Buckets over the questions' v.
    var clusterValue = [Double](repeating: 0, count: cluster.count)
    for (k, c) in cluster { clusterValue[c] = keyValue[k] }
    let buckets = Buckets(values: clusterValue, userEdges: o.bucketEdges, count: o.bucketCount)
    let bucketOf = clusterValue.map { buckets.index($0) }
    let rowBucket = clusterOf.map { bucketOf[$0] }
    // Per bucket and size: rows (for the bootstrap) and pooled accuracy.
    let sizes = Array(Set(sOf)).sorted()
    let sizeOfModel = sOf.map { sizes.firstIndex(of: $0)! }
    var cells = [[[Int]]](repeating: [[Int]](repeating: [], count: sizes.count), count: buckets.count)
    for i in 0..<nRows { cells[rowBucket[i]][sizeOfModel[model[i]]].append(i) }
    let cell = cells
    @Sendable func pooled(_ b: Int, _ w: [Int32]?) -> (acc: [Double], n: [Double]) {
        var acc: [Double] = [], ns: [Double] = []
        for k in sizes.indices {
            var sy = 0.0, sn = 0.0
            for i in cell[b][k] { let wi = w.map { Double($0[clusterOf[i]]) } ?? 1; sy += wi * y[i]; sn += wi }
            acc.append(sn > 0 ? sy / sn : .nan); ns.append(sn)
        }
        return (acc, ns)
    }
    @Sendable func curves(_ b: Int, _ w: [Int32]?) -> (linear: (intercept: Double, slope: Double)?, logistic: (intercept: Double, slope: Double)?) {
        let (acc, ns) = pooled(b, w)
        let keep = sizes.indices.filter { ns[$0] > 0 }
        guard keep.count >= 2 else { return (nil, nil) }
        let lin = lineFit(keep.map { sizes[$0] }, keep.map { acc[$0] })
        let lg = weightedLogisticSlope(x: keep.map { sizes[$0] }, y: keep.map { acc[$0] },
                                       weights: keep.map { Int32(ns[$0]) })
        return (lin, lg.map { ($0.intercept, $0.slope) })
    }
    var bucketResults: [ScalingBucket] = []
    for b in 0..<buckets.count {
        var n = [Int](repeating: 0, count: m), c = [Double](repeating: 0, count: m)
        for i in 0..<nRows where rowBucket[i] == b { n[model[i]] += 1; c[model[i]] += y[i] }
        let (lo, hi) = buckets.bounds(b)
        let cv = curves(b, nil)
        bucketResults.append(ScalingBucket(
            label: buckets.label(b), low: lo, high: hi, lowerInclusive: buckets.lowerInclusive,
            questions: bucketOf.filter { $0 == b }.count, n: n,
            accuracy: (0..<m).map { n[$0] > 0 ? c[$0] / Double(n[$0]) : .nan },
            ci: (0..<m).map { let w = wilsonInterval(successes: c[$0], n: n[$0]); return Interval(low: w.lo, high: w.hi) },
            linear: cv.linear, logistic: cv.logistic))
    }
    let nonEmpty = (0..<buckets.count).filter { bucketResults[$0].questions > 0 }
    let rare = nonEmpty.first ?? 0, frequent = nonEmpty.last ?? 0
    @Sendable func target(_ w: [Int32]?) -> Double {
        if let t = o.targetAccuracy { return t }
        return pooled(frequent, w).acc.last ?? .nan
    }
    @Sendable func crossings(_ w: [Int32]?) -> [Double] {
        guard rare != frequent else { return [.nan, .nan] }
        let cv = curves(rare, w), t = target(w)
        return [crossing(cv.linear, target: t, logistic: false), crossing(cv.logistic, target: t, logistic: true)]
    }

    // One stratified question bootstrap for everything: per model slope and gap, crossings.
    var extra: (@Sendable ([Int32]) -> [Double])? = nil
    if rare != frequent { extra = crossings }
    let resampled = armBootstrap(arms, clusterCount: cluster.count, resamples: o.features.bootstrap, seed: seed, gapQuantile: q,
                                 extra: extra)
    let crossBoot: [[Double]] = rare != frequent ? resampled.map { Array($0[(2 * m)...]) } : []
    let full = crossings(nil)
    var extrapolations: [Extrapolation] = []
    if rare != frequent {
        let t = target(nil)
        for (j, curve) in [Extrapolation.Curve.linear, .logistic].enumerated() {
            let values = crossBoot.map { $0[j] }
            let ci = percentileInterval(values)
            let valid = values.filter { !$0.isNaN }
            let never = valid.filter { $0.isInfinite }.count
            var reason: String? = nil
            let c = full[j]
            let fit = curve == .linear ? curves(rare, nil).linear : curves(rare, nil).logistic
            if c.isNaN { reason = fit == nil ? "no \(curve.rawValue) fit over the sizes (the rarest bucket needs rows at two sizes\(curve == .logistic ? ", without separation" : ""))" : "no target accuracy" }
            else if c.isInfinite {
                if curve == .logistic && (t <= 0 || t >= 1) { reason = "a logistic curve never reaches accuracy \(Render.fixed(t, 3))" }
                else { reason = "the rarest bucket's accuracy does not rise with model size (slope \(Render.fixed(fit?.slope ?? .nan, 4)) per 10x)" }
            }
            extrapolations.append(Extrapolation(curve: curve, target: t, crossing: c.isFinite ? c : nil, reason: reason,
                                                ci: Interval(low: ci.low, high: ci.high),
                                                notReachedShare: valid.isEmpty ? .nan : Double(never) / Double(valid.count),
                                                sizesUsed: sizes.count))
        }
    }

    // Models and neighbouring comparisons.
    var models: [ScalingModel] = []
    for k in 0..<m {
        let arm = arms[k]
        let sumY = arm.y.reduce(0, +)
        let w = wilsonInterval(successes: sumY, n: arm.n)
        let gaps = resampled.map { $0[m + k] }
        let gci = percentileInterval(gaps)
        var jointSlope: Estimate? = nil
        if let jf = joint {
            var c = [Double](repeating: 0, count: jf.coef.count)
            c[1] = 1; c[3] = sOf[k] - sMean
            jointSlope = jf.combination(c)
        }
        models.append(ScalingModel(name: modelNames[k], params: params[modelNames[k]]!, n: arm.n,
                                   accuracy: arm.n > 0 ? sumY / Double(arm.n) : .nan,
                                   accuracyCI: Interval(low: w.lo, high: w.hi),
                                   slope: arm.fit?.estimate(1), slopeNote: arm.fitNote, jointSlope: jointSlope,
                                   gap: arm.sample.gap(q, arm.sample.ones).gap, gapCI: Interval(low: gci.low, high: gci.high)))
    }
    // Neighbouring sizes: consecutive models whose sizes differ (models of one size, e.g. two
    // methods pooled without --group-by, are not "smaller" and "larger" than each other).
    let pairs = m >= 2 ? (0..<(m - 1)).filter { params[modelNames[$0]]! != params[modelNames[$0 + 1]]! }.map { ($0, $0 + 1) } : []
    let comparisons = compareArms(pairs, arms: arms, resampled: resampled, gapQuantile: q, adjust: o.adjust)
    let valid = resampled.filter { $0.prefix(m).allSatisfy { $0.isFinite } }.count
    let group = ScalingGroup(label: label, models: models, questionsAll: questionsAll, questionsAny: keyModels.count,
                             rowsUsed: nRows, rowsWithoutTerms: qs.count - withTerms.count, balanced: !o.unbalanced,
                             joint: ScalingJoint(fit: joint, note: jointNote, names: names, xMean: xMean, sMean: sMean, covariateNotes: covNotes),
                             buckets: bucketResults, extrapolations: extrapolations, comparisons: comparisons,
                             bootstrapValid: valid, note: nil)
    return (group, used)
}
