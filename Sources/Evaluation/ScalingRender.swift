#if canImport(Glibc)
import Glibc
#endif
import Support
import Reporting
import Statistics

/// Table, JSON, CSV and SVG of a scaling report.
public enum ScalingRender {
    static func diff(_ d: Difference) -> String { d.value.isFinite ? "\(num(d.value)) \(ci(d.ci))" : "n/a" }
    static func num(_ x: Double, _ d: Int = 3) -> String { x.isFinite && abs(x) < 1e12 ? Render.fixed(x, d) : (x.isNaN ? "n/a" : "\(x)") }
    static func p(_ x: Double) -> String { CorrelateRender.p(x) }
    static func ci(_ i: Interval, _ d: Int = 2) -> String { CorrelateRender.ci(i, d) }
    static func est(_ e: Estimate?, _ d: Int = 3) -> String {
        guard let e, e.value.isFinite else { return "n/a" }
        return "\(num(e.value, d)) [\(num(e.low, d)), \(num(e.high, d))]"
    }

    /// A parameter count from log10: 6B, 175B, 1.3T, or 10^21.4 beyond a quadrillion.
    public static func params(log10 s: Double) -> String {
        guard s.isFinite else { return s > 0 ? "never" : "n/a" }
        if s >= 15 || s < 0 { return "10^\(Render.fixed(s, 1))" }
        return params(pow(10, s))
    }

    public static func params(_ v: Double) -> String {
        guard v.isFinite, v > 0 else { return "n/a" }
        for (unit, scale) in [("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)] where v >= scale {
            let x = v / scale
            return (x >= 100 ? Render.fixed(x, 0) : x >= 10 ? trim(Render.fixed(x, 1)) : trim(Render.fixed(x, 2))) + unit
        }
        return trim(Render.fixed(v, 2))
    }

    static func trim(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    static func groupName(_ g: ScalingGroup, _ fields: [String]) -> String {
        g.label.isEmpty ? "all rows" : zip(fields, g.label).map { "\($0)=\($1)" }.joined(separator: ", ")
    }

    public static func text(_ r: ScalingReport) -> String {
        let o = r.options
        var out = "Feature: x = log10(v + 1), v = \(r.featureDescription)\n"
        var seen = Set<String>(), sizes: [String] = []
        for m in r.groups.flatMap(\.models) where seen.insert(m.name).inserted {
            sizes.append("\(m.name) = \(params(m.params)) (\(r.sizeSources[m.name] ?? "?"))")
        }
        out += "Size: s = log10(parameters); " + sizes.joined(separator: ", ") + "\n"
        out += "Index: \(o.features.index) (\(r.indexMeta["docs"] ?? "?") docs, \(r.indexMeta["tokens"] ?? "?") tokens)\n"
        if !r.read.skipped.isEmpty {
            out += "Skipped rows: " + r.read.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ") + "\n"
        }
        if r.countsAreLowerBounds { out += "Note: the index dropped n-grams below --min-count; absent n-grams count as 0.\n" }
        for g in r.groups {
            out += "\n== \(groupName(g, r.groupFields)) ==\n"
            if let note = g.note { out += "not analysed: \(note)\n"; continue }
            out += "\(g.questionsAll) of \(g.questionsAny) questions answered by all \(g.models.count) models; "
            out += g.balanced ? "fitted on those (\(g.rowsUsed) rows)" : "fitted on every row (\(g.rowsUsed), --unbalanced)"
            out += g.rowsWithoutTerms > 0 ? "; \(g.rowsWithoutTerms) rows without a countable term left out\n" : "\n"
            out += "\n"
            out += Render.table(["model", "params", "n", "accuracy", "95% CI", "slope/10x (own fit) [95% CI]", "slope/10x (joint)", "gap", "95% CI"],
                                g.models.map { m in
                                    [m.name, params(m.params), "\(m.n)", num(m.accuracy), ci(m.accuracyCI),
                                     m.slope.map { est($0) } ?? "n/a (\(m.slopeNote ?? ""))", est(m.jointSlope), num(m.gap), ci(m.gapCI)]
                                })
            out += "slope: change in log-odds of a correct answer per 10x frequency; gap: accuracy of the top \(Int(o.features.gapQuantile * 100))% most frequent questions minus the bottom \(Int(o.features.gapQuantile * 100))%\n"
            // Joint model.
            let j = g.joint
            out += "\nJoint model: logit P(correct) = b0 + b1 x + b2 s + b3 x s\(j.names.count > 4 ? " + covariates" : "")"
            out += ", x and s centered (mean x \(num(j.xMean)), mean s \(num(j.sMean)) = \(params(log10: j.sMean)))"
            if let f = j.fit {
                out += ", errors clustered by question (\(f.clusters ?? 0) clusters)\n"
                out += Render.table(["term", "estimate", "se", "95% CI", "p"], j.names.indices.map { k in
                    let e = f.estimate(k)
                    return [j.names[k], num(e.value, 4), num(e.se, 4), "[\(num(e.low, 3)), \(num(e.high, 3))]", p(e.p)]
                })
                for n in j.covariateNotes { out += "  \(n)\n" }
                if let b3 = j.interaction {
                    let verdict: String
                    if b3.p < 0.05 {
                        verdict = b3.value < 0 ? "the frequency slope shrinks as models grow: larger models depend less on frequency"
                                               : "the frequency slope grows with model size: larger models depend more on frequency"
                    } else {
                        verdict = "no evidence that the frequency slope changes with model size"
                    }
                    out += "b3 (x:s) = \(num(b3.value, 3)) [\(num(b3.low, 3)), \(num(b3.high, 3))], p = \(p(b3.p)): \(verdict)\n"
                }
            } else {
                out += "\nno joint fit: \(j.note ?? "")\n"
            }
            // Buckets.
            out += "\nAccuracy by frequency bucket (Wilson 95% intervals)\(o.bucketEdges == nil ? ", \(o.bucketCount) quantile buckets of the questions' v" : ""):\n"
            var header = ["bucket", "questions"]
            for m in g.models { header += [m.name, "95% CI"] }
            header += ["gain/10x params"]
            out += Render.table(header, g.buckets.map { b in
                var row = [b.label, "\(b.questions)"]
                for k in g.models.indices { row += [num(b.accuracy[k]), ci(b.ci[k])] }
                row.append(b.linear.map { num($0.slope) } ?? "n/a")
                return row
            })
            out += "gain/10x params: slope of accuracy over log10 parameters (a line through the \(Set(g.models.map(\.params)).count) sizes)\n"
            if !g.extrapolations.isEmpty {
                let e0 = g.extrapolations[0]
                out += "\nExtrapolation (an extrapolation from \(e0.sizesUsed) model sizes, not a measurement): when does the rarest bucket (\(g.buckets.first { $0.questions > 0 }?.label ?? "")) reach accuracy \(num(e0.target))"
                out += o.targetAccuracy == nil ? " (the most frequent bucket's accuracy at the largest size)?\n" : " (--target-accuracy)?\n"
                out += Render.table(["curve", "params needed", "95% CI", "not reached in"], g.extrapolations.map { e in
                    [e.curve.rawValue, e.crossing.map { params(log10: $0) } ?? "never",
                     e.ci.low.isNaN ? "n/a" : "[\(params(log10: e.ci.low)), \(params(log10: e.ci.high))]",
                     e.notReachedShare.isFinite ? Render.pct(e.notReachedShare) + " of resamples" : "n/a"]
                })
                for e in g.extrapolations where e.reason != nil { out += "\(e.curve.rawValue): \(e.reason!)\n" }
            }
            if !g.comparisons.isEmpty {
                out += "\nNeighbouring sizes, paired over the same questions (bootstrap: \(o.features.bootstrap) question resamples; p adjusted: \(o.adjust.rawValue)):\n"
                out += Render.table(["smaller", "larger", "shared", "Δslope [95% CI]", "p", "p adj", "Δgap [95% CI]", "p", "p adj", "interaction (clustered)", "p"],
                                    g.comparisons.map { c in
                                        [g.models[c.a].name, g.models[c.b].name, "\(c.shared)",
                                         diff(c.slope), p(c.slope.p), p(c.slope.pAdjusted),
                                         diff(c.gap), p(c.gap.p), p(c.gap.pAdjusted),
                                         est(c.interaction), p(c.interaction?.p ?? .nan)]
                                    })
                out += "Δ = larger minus smaller; Δgap < 0: the larger model's gap between frequent and rare questions is smaller\n"
            }
        }
        return out
    }

    static func interval(_ i: Interval) -> JSON {
        func v(_ x: Double) -> JSON { x.isInfinite ? .string(x > 0 ? "inf" : "-inf") : .double(x) }
        return .array([v(i.low), v(i.high)])
    }
    static func estimate(_ e: Estimate?) -> JSON {
        guard let e else { return .null }
        return .object([("estimate", .double(e.value)), ("se", .double(e.se)), ("z", .double(e.z)), ("p", .double(e.p)),
                        ("ci95", .array([.double(e.low), .double(e.high)]))])
    }
    static func difference(_ d: Difference) -> JSON {
        .object([("estimate", .double(d.value)), ("ci95", interval(d.ci)), ("p", .double(d.p)), ("p_adjusted", .double(d.pAdjusted))])
    }

    static func modelJSON(_ m: ScalingModel, _ r: ScalingReport) -> JSON {
        .object([
            ("model", .string(m.name)), ("params", .double(m.params)), ("s", .double(m.s)),
            ("size_source", .string(r.sizeSources[m.name] ?? "")),
            ("n", .int(Int64(m.n))), ("accuracy", .double(m.accuracy)), ("accuracy_ci95", interval(m.accuracyCI)),
            ("slope", estimate(m.slope)), ("slope_note", m.slopeNote.map { .string($0) } ?? .null),
            ("joint_slope", estimate(m.jointSlope)),
            ("gap", .double(m.gap)), ("gap_ci95", interval(m.gapCI)),
        ])
    }

    static func bucketJSON(_ b: ScalingBucket, _ g: ScalingGroup) -> JSON {
        var perModel: [JSON] = []
        for k in g.models.indices {
            perModel.append(.object([("model", .string(g.models[k].name)), ("n", .int(Int64(b.n[k]))),
                                     ("accuracy", .double(b.accuracy[k])), ("ci95", interval(b.ci[k]))]))
        }
        let lin: JSON = b.linear.map { .object([("intercept", .double($0.intercept)), ("slope_per_10x_params", .double($0.slope))]) } ?? .null
        let lg: JSON = b.logistic.map { .object([("intercept", .double($0.intercept)), ("slope_per_10x_params", .double($0.slope))]) } ?? .null
        return .object([
            ("label", .string(b.label)), ("v_low", .double(b.low)), ("v_high", b.high.isInfinite ? .null : .double(b.high)),
            ("lower_inclusive", .bool(b.lowerInclusive)), ("questions", .int(Int64(b.questions))),
            ("per_model", .array(perModel)), ("linear_in_s", lin), ("logistic_in_s", lg),
        ])
    }

    static func extrapolationJSON(_ e: Extrapolation, _ o: ScalingOptions) -> JSON {
        let source = o.targetAccuracy == nil ? "most frequent bucket at the largest size" : "--target-accuracy"
        let log10Params: JSON = e.crossing.map { .double($0) } ?? .null
        let paramsValue: JSON = e.crossing.map { .double(pow(10, $0)) } ?? .null
        return .object([
            ("curve", .string(e.curve.rawValue)), ("target_accuracy", .double(e.target)), ("target_source", .string(source)),
            ("log10_params", log10Params), ("params", paramsValue),
            ("reason", e.reason.map { .string($0) } ?? .null),
            ("log10_params_ci95", interval(e.ci)), ("not_reached_share", .double(e.notReachedShare)),
            ("sizes_used", .int(Int64(e.sizesUsed))),
            ("caveat", .string("extrapolated from " + String(e.sizesUsed) + " model sizes")),
        ])
    }

    static func comparisonJSON(_ c: ArmComparison, _ g: ScalingGroup) -> JSON {
        .object([
            ("smaller", .string(g.models[c.a].name)), ("larger", .string(g.models[c.b].name)),
            ("shared_questions", .int(Int64(c.shared))),
            ("slope_difference", difference(c.slope)), ("gap_difference", difference(c.gap)),
            ("interaction", estimate(c.interaction)), ("interaction_p_adjusted", .double(c.interactionPAdjusted)),
            ("interaction_note", c.interactionNote.map { .string($0) } ?? .null),
        ])
    }

    public static func json(_ r: ScalingReport) -> JSON {
        let o = r.options
        var groups: [JSON] = []
        for g in r.groups {
            let j = g.joint
            var jointJSON: JSON = .null
            if let f = j.fit {
                jointJSON = .object([
                    ("formula", .string("logit P(correct) = b0 + b1 x + b2 s + b3 x s" + (j.names.count > 4 ? " + covariates" : ""))),
                    ("centered", .object([("x_mean", .double(j.xMean)), ("s_mean", .double(j.sMean))])),
                    ("covariance", .string("cluster-robust, clustered by question, statsmodels' small-sample correction")),
                    ("clusters", .int(Int64(f.clusters ?? 0))), ("observations", .int(Int64(f.observations))),
                    ("coefficients", .array(j.names.indices.map { k in
                        .object([("term", .string(j.names[k]))] + { if case .object(let kv) = estimate(f.estimate(k)) { return kv }; return [] }())
                    })),
                    ("log_likelihood", .double(f.logLikelihood)),
                    ("covariate_notes", .array(j.covariateNotes.map { .string($0) })),
                ])
            }
            groups.append(.object([
                ("group", .object(zip(r.groupFields, g.label).map { ($0.0, JSON.string($0.1)) })),
                ("note", g.note.map { .string($0) } ?? .null),
                ("questions_answered_by_all", .int(Int64(g.questionsAll))), ("questions", .int(Int64(g.questionsAny))),
                ("rows_used", .int(Int64(g.rowsUsed))), ("rows_without_terms", .int(Int64(g.rowsWithoutTerms))),
                ("balanced", .bool(g.balanced)),
                ("models", .array(g.models.map { modelJSON($0, r) })),
                ("joint", jointJSON), ("joint_note", j.note.map { .string($0) } ?? .null),
                ("buckets", .array(g.buckets.map { bucketJSON($0, g) })),
                ("extrapolation", .array(g.extrapolations.map { extrapolationJSON($0, o) })),
                ("comparisons", .array(g.comparisons.map { comparisonJSON($0, g) })),
                ("bootstrap_valid_resamples", .int(Int64(g.bootstrapValid))),
            ]))
        }
        return .object([
            ("tool", .string("tailscope scaling")), ("tool_version", .string(tailscopeVersion)),
            ("index", .string(o.features.index)),
            ("eval", .array(r.read.files.map { f in .object([("path", .string(f.path)), ("format", .string(f.format.rawValue)), ("rows", .int(Int64(f.rows)))]) })),
            ("skipped", .object(r.read.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, JSON.int(Int64($0.value))) })),
            ("feature", .object([("x", .string("log10(v + 1)")), ("v", .string(r.featureDescription)),
                                 ("counts_are_lower_bounds", .bool(r.countsAreLowerBounds))])),
            ("size", .string("s = log10(parameters)")),
            ("settings", .object([
                ("model_field", .string(o.modelField)), ("bootstrap", .int(Int64(o.features.bootstrap))),
                ("seed", .int(Int64(bitPattern: o.features.seed))), ("gap_quantile", .double(o.features.gapQuantile)),
                ("bucket_edges", o.bucketEdges.map { .array($0.map { .double($0) }) } ?? .null),
                ("bucket_count", .int(Int64(o.bucketCount))), ("adjust", .string(o.adjust.rawValue)),
                ("unbalanced", .bool(o.unbalanced)), ("covariates", .array(o.covariates.map { .string($0) })),
            ])),
            ("groups", .array(groups)),
            ("seconds", .double(r.seconds)),
        ])
    }

    /// One row per question x model: what the joint fit used (`used`), for refitting elsewhere.
    public static func csv(_ r: ScalingReport) -> String {
        var out = "question,group,model,params,s,terms,v,x,correct,used"
        for c in r.options.covariates { out += "," + CorrelateRender.csvField(c) }
        out += "\n"
        for row in r.rows {
            let q = row.question
            let terms = q.terms.map { $0.tokens.joined(separator: " ") }.joined(separator: ";")
            let value = q.value.map { $0.rounded() == $0 && abs($0) < 1e15 ? "\(Int64($0))" : "\($0)" } ?? ""
            let correct = q.row.correct.map { $0 == 1 ? "1" : $0 == 0 ? "0" : "\($0)" } ?? ""
            var fields = [q.row.key, q.row.group.joined(separator: "/"), row.model,
                          row.params.map { "\($0)" } ?? "", row.params.map { "\(log10($0))" } ?? "",
                          terms, value, q.x.map { "\($0)" } ?? "", correct, row.used ? "1" : "0"]
            for c in r.options.covariates { fields.append(q.row.extra[c] ?? "") }
            out += fields.map(CorrelateRender.csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// Accuracy against model size, one line per frequency bucket (per group).
    public static func svg(_ r: ScalingReport) -> String {
        var series: [LineChart.Series] = []
        for g in r.groups where g.note == nil {
            let sizes = Array(Set(g.models.map(\.s))).sorted()
            for b in g.buckets where b.questions > 0 {
                var points: [LineChart.Point] = []
                for s in sizes {
                    let ks = g.models.indices.filter { g.models[$0].s == s }
                    let n = ks.reduce(0) { $0 + b.n[$1] }
                    guard n > 0 else { continue }
                    let c = ks.reduce(0.0) { $0 + b.accuracy[$1] * Double(b.n[$1]) }
                    let w = wilsonInterval(successes: c, n: n)
                    points.append(LineChart.Point(x: s, y: c / Double(n), low: w.lo, high: w.hi))
                }
                let name = (g.label.isEmpty ? "" : g.label.joined(separator: "/") + ": ") + "\(b.label) (\(b.questions) q)"
                series.append(LineChart.Series(name: name, points: points))
            }
        }
        var chart = LineChart(
            title: "Accuracy vs model size, per frequency bucket",
            xLabel: "parameters (log scale)",
            yLabel: "accuracy",
            caption: "v = \(r.featureDescription); Wilson 95% intervals; buckets of the questions' v",
            series: series)
        chart.logX = true
        return chart.render()
    }
}
