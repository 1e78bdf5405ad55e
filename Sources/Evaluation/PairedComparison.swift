import Statistics
#if canImport(Glibc)
import Glibc
#endif

/// The rows of one arm of a comparison (a model, a condition, a group), each row tied to a
/// question cluster. Rows of different arms with the same cluster are the same question.
struct Arm: Sendable {
    let x: [Double]
    let y: [Double]
    let cluster: [Int]
    let sample: PairedSample
    /// `cluster` in the sample's sorted order (its weights are indexed that way).
    let clusterSorted: [Int]
    /// The full-sample logistic fit of y on x (model-based errors), or why there is none.
    let fit: LogisticFit?
    let fitNote: String?
    /// Set when the arm is too small or flat for statistics (its gap is n/a too).
    let small: String?

    init(x: [Double], y: [Double], cluster: [Int]) {
        self.x = x; self.y = y; self.cluster = cluster
        sample = PairedSample(x: x, y: y)
        clusterSorted = sample.inputIndex.map { cluster[$0] }
        var fit: LogisticFit? = nil, note: String? = nil
        small = smallSampleReason(x: x)
        if let why = small { note = why } else {
            do { fit = try logisticRegression(columns: [x], y: y) } catch { note = error.description }
        }
        self.fit = fit; fitNote = note
    }

    var n: Int { x.count }

    /// Logistic slope under cluster weights (nil when undefined in the resample).
    func slope(_ w: [Int32]) -> Double {
        guard let f = fit else { return .nan }
        var rw = [Int32](repeating: 0, count: n)
        for i in 0..<n { rw[i] = w[cluster[i]] }
        return weightedLogisticSlope(x: x, y: y, weights: rw, start: (f.coef[0], f.coef[1]))?.slope ?? .nan
    }

    /// The top-vs-bottom gap under cluster weights.
    func gap(_ q: Double, _ w: [Int32]) -> Double {
        if small != nil { return .nan }
        var sw = [Int](repeating: 0, count: n)
        for k in 0..<n { sw[k] = Int(w[clusterSorted[k]]) }
        return sample.gap(q, sw).gap
    }
}

/// Why a group is too small or too flat for correlations and a logistic fit, or nil.
func smallSampleReason(x: [Double]) -> String? {
    if x.count < 10 { return "fewer than 10 questions (\(x.count))" }
    if x.allSatisfy({ $0 == x[0] }) { return "no variation in frequency (every question has v = \(CorrelateRender.countText(x[0])))" }
    return nil
}

/// A difference between two arms with its bootstrap interval and p-value.
public struct Difference: Sendable {
    public let value: Double
    public let ci: Interval
    public let p: Double
    /// `p` adjusted over the comparisons of the report (`--adjust`).
    public var pAdjusted: Double
}

/// Two arms compared on the questions they share (paired) and those they do not (independent).
public struct ArmComparison: Sendable {
    public let a: Int
    public let b: Int
    /// Questions both arms answered, and each arm's question count.
    public let shared: Int
    public let questionsA: Int
    public let questionsB: Int
    /// slope(b) - slope(a): the logistic slope per 10x frequency.
    public var slope: Difference
    /// gap(b) - gap(a): accuracy of the most frequent minus the least frequent questions.
    public var gap: Difference
    /// The x-by-arm interaction of a logistic fit on both arms' rows with question-clustered
    /// errors (logit = c0 + c1 x + c2 d + c3 x d, d = 1 for arm b): c3 equals the slope
    /// difference; its test is the model-based counterpart of the bootstrap.
    public let interaction: Estimate?
    public var interactionPAdjusted: Double
    public let interactionNote: String?
    public var paired: Bool { shared > 0 }
}

/// Per-resample slopes and gaps of every arm, from one stratified cluster bootstrap: strata are
/// the sets of arms that answered a question, so shared questions are resampled together.
/// Returns, per resample, [slope of arm 0..<k, gap of arm 0..<k] followed by `extra`'s values
/// for the same cluster weights (statistics of the caller's that must see the same resamples).
func armBootstrap(_ arms: [Arm], clusterCount: Int, resamples: Int, seed: UInt64, gapQuantile q: Double,
                  extra: (@Sendable ([Int32]) -> [Double])? = nil) -> [[Double]] {
    var pattern = [[Int]](repeating: [], count: clusterCount)
    for (k, arm) in arms.enumerated() {
        for c in arm.cluster where pattern[c].last != k { pattern[c].append(k) }
    }
    var ids: [[Int]: Int] = [:]
    let stratum = pattern.map { p -> Int in
        if let v = ids[p] { return v }
        ids[p] = ids.count
        return ids.count - 1
    }
    let boot = ClusterBootstrap(stratum: stratum)
    return boot.run(resamples: resamples, seed: seed) { w in
        arms.map { $0.slope(w) } + arms.map { $0.gap(q, w) } + (extra?(w) ?? [])
    }
}

/// Compares arm pairs from the bootstrap of `armBootstrap`, with the clustered interaction test,
/// and adjusts each kind of p-value over the pairs.
func compareArms(_ pairs: [(Int, Int)], arms: [Arm], resampled: [[Double]], gapQuantile q: Double,
                 adjust: PAdjust) -> [ArmComparison] {
    let k = arms.count
    var out: [ArmComparison] = []
    for (a, b) in pairs {
        let A = arms[a], B = arms[b]
        let sa = Set(A.cluster), sb = Set(B.cluster)
        let shared = sa.intersection(sb).count
        let slopeA = A.fit?.coef[1] ?? .nan, slopeB = B.fit?.coef[1] ?? .nan
        let gapA = A.small == nil ? A.sample.gap(q, A.sample.ones).gap : .nan
        let gapB = B.small == nil ? B.sample.gap(q, B.sample.ones).gap : .nan
        let ds = resampled.map { $0[b] - $0[a] }, dg = resampled.map { $0[k + b] - $0[k + a] }
        let cs = percentileInterval(ds), cg = percentileInterval(dg)
        let slopeDiff = slopeB - slopeA
        let slope = Difference(value: slopeDiff, ci: Interval(low: cs.low, high: cs.high),
                               p: slopeDiff.isFinite ? bootstrapPValue(ds) : .nan, pAdjusted: .nan)
        let gapDiff = gapB - gapA
        let gap = Difference(value: gapDiff, ci: Interval(low: cg.low, high: cg.high),
                             p: gapDiff.isFinite ? bootstrapPValue(dg) : .nan, pAdjusted: .nan)
        // The interaction model on both arms' rows.
        var interaction: Estimate? = nil, note: String? = nil
        if A.fit == nil || B.fit == nil {
            note = "no logistic fit in \(A.fit == nil ? "the first" : "the second") arm"
        } else {
            let x = A.x + B.x, y = A.y + B.y
            let d = [Double](repeating: 0, count: A.n) + [Double](repeating: 1, count: B.n)
            let xd = zip(x, d).map { $0 * $1 }
            do {
                let f = try logisticRegression(columns: [x, d, xd], y: y, clusters: A.cluster + B.cluster)
                interaction = f.estimate(3)
            } catch { note = error.description }
        }
        out.append(ArmComparison(a: a, b: b, shared: shared, questionsA: sa.count, questionsB: sb.count,
                                 slope: slope, gap: gap, interaction: interaction, interactionPAdjusted: .nan,
                                 interactionNote: note))
    }
    let ps = adjust.adjust(out.map(\.slope.p)), pg = adjust.adjust(out.map(\.gap.p))
    let pi = adjust.adjust(out.map { $0.interaction?.p ?? .nan })
    for i in out.indices {
        out[i].slope.pAdjusted = ps[i]; out[i].gap.pAdjusted = pg[i]; out[i].interactionPAdjusted = pi[i]
    }
    return out
}
