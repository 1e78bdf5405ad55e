#if canImport(Glibc)
import Glibc
#endif
import Support
import Reporting
import Statistics

/// Tables, JSON, CSV and the SVG plot of a correlation report.
public enum CorrelateRender {
    static func diff(_ d: Difference) -> String { d.value.isFinite ? "\(num(d.value)) \(ci(d.ci))" : "n/a" }
    static func num(_ x: Double, _ d: Int = 3) -> String { x.isFinite ? Render.fixed(x, d) : "n/a" }
    static func p(_ x: Double) -> String {
        guard x.isFinite else { return "n/a" }
        if x < 1e-4 { return "<1e-4" }
        return Render.fixed(x, 4)
    }
    static func ci(_ i: Interval, _ d: Int = 2) -> String {
        i.low.isFinite && i.high.isFinite ? "[\(Render.fixed(i.low, d)), \(Render.fixed(i.high, d))]" : "n/a"
    }

    public static func label(_ r: CorrelationReport, _ g: GroupResult) -> String {
        g.label.isEmpty ? "all" : g.label.joined(separator: " / ")
    }

    public static func text(_ r: CorrelationReport) -> String {
        var out = "Feature: x = log10(v + 1), v = \(r.featureDescription)\n"
        if r.options.unit == .pair {
            out = "Unit: question pair (Razeghi et al. 2022): each distinct pair of --pairs \(r.options.pairs) is one observation, x = log10(v + 1) with v the \(r.options.measure == .df ? "documents holding both" : "co-occurrences within \(r.options.window) tokens") (from `cooccur --pairs`), y the accuracy averaged over the questions that hold the pair; n counts pairs, the gap is Razeghi's Δ over pairs, its interval resamples pairs\n"
        } else if r.options.unit == .term {
            out = "Unit: term (Razeghi et al. 2022): each distinct term of --terms is one observation, x = log10(v + 1) with v its own \(r.options.measure == .df ? "document frequency" : "count"), y the accuracy averaged over the questions that hold it; n counts terms, the gap is the accuracy of the top \(Int(r.options.gapQuantile * 100))% most frequent terms minus the bottom \(Int(r.options.gapQuantile * 100))% (Razeghi's Δ), its interval resamples terms\n"
        }
        out += "Index: \(r.options.index) (\(r.indexMeta["docs"] ?? "?") docs, \(r.indexMeta["tokens"] ?? "?") tokens, orders 1-\(r.indexMeta["max_order"] ?? "?"))\n"
        let qs = r.questions.count, usable = r.questions.filter { $0.value != nil }.count
        out += "Questions: \(qs) read, \(usable) with a countable term\(qs > usable ? ", \(qs - usable) without (left out)" : "")\n"
        if !r.read.skipped.isEmpty {
            out += "Skipped rows: " + r.read.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", ") + "\n"
        }
        if r.countsAreLowerBounds { out += "Note: the index dropped n-grams below --min-count \(r.indexMeta["min_count"] ?? "?"); absent n-grams count as 0.\n" }
        out += "\n"
        if r.options.featuresOnly {
            // No correctness: the distribution of v per group.
            out += Render.table(["group", "n", "no term", "v min", "25%", "median", "75%", "max", "v = 0"], r.groups.enumerated().map { g, grp in
                let v = r.questions.filter { $0.group == g }.compactMap(\.value).sorted()
                func q(_ p: Double) -> String { v.isEmpty ? "n/a" : countText(log10(Quantile.linear(sorted: v, p) + 1)) }
                return [label(r, grp), "\(grp.n)", "\(grp.withoutTerms)", q(0), q(0.25), q(0.5), q(0.75), q(1), "\(v.filter { $0 == 0 }.count)"]
            })
            out += "--features-only: no correctness read; --csv holds every question's terms and v\n"
            return out
        }
        let header = ["group", "n", "acc", "spearman", "95% CI", "p", "kendall", "p", "pearson", "slope/10x", "± se", "OR/10x", "gap", "95% CI"]
        var rows: [[String]] = []
        for g in r.groups {
            let fit = g.logistic
            rows.append([label(r, g), "\(g.n)", num(g.accuracy), num(g.spearman), ci(g.spearmanCI), p(g.spearmanP),
                         num(g.kendall), p(g.kendallP), num(g.pearson),
                         fit.map { num($0.coef[1]) } ?? "n/a", fit.map { num($0.se[1]) } ?? "",
                         g.oddsRatioPer10x.map { num($0, 2) } ?? "", num(g.gap), ci(g.gapCI)])
        }
        out += Render.table(header, rows)
        if !r.options.covariates.isEmpty {
            out += "\nslope adjusted for \(r.options.covariates.joined(separator: ", ")) (entered into each group's logistic fit; numeric as is, categorical as indicators)"
        }
        out += "\nslope: logistic regression of correctness on x (per 10x frequency); OR/10x = exp(slope); gap: accuracy of the top \(Int(r.options.gapQuantile * 100))% most frequent minus the bottom \(Int(r.options.gapQuantile * 100))%; intervals: \(r.options.bootstrap) bootstrap resamples, seed \(r.options.seed)\n"
        for g in r.groups where g.logisticNote != nil {
            out += g.statisticsNote != nil ? "\(label(r, g)): statistics n/a: \(g.statisticsNote!)\n" : "\(label(r, g)): no logistic fit: \(g.logisticNote!)\n"
        }
        // Binned accuracy.
        out += "\nBinned accuracy (\(r.options.binScheme.rawValue) bins of x, Wilson 95% intervals):\n"
        for g in r.groups {
            out += "\n\(label(r, g))\n"
            out += Render.table(["v range", "n", "accuracy", "95% CI"], g.bins.map { b in
                ["\(countText(b.lo))-\(countText(b.hi))", "\(b.n)", num(b.mean), ci(Interval(low: b.ciLow, high: b.ciHigh))]
            })
        }
        if !r.comparisons.isEmpty {
            out += "\nComparison across \(r.compareField ?? "groups"): B minus A; questions both groups answered are paired (resampled together), the rest resampled within their group; \(r.options.bootstrap) resamples; p adjusted: \(r.options.adjust.rawValue)\n"
            out += Render.table(["group A", "group B", "shared", "Δslope [95% CI]", "p", "p adj", "Δgap [95% CI]", "p", "p adj", "interaction p"], r.comparisons.map { c in
                let a = r.groups[c.a], b = r.groups[c.b]
                return [label(r, a), label(r, b), "\(c.shared)",
                        diff(c.slope), p(c.slope.p), p(c.slope.pAdjusted),
                        diff(c.gap), p(c.gap.p), p(c.gap.pAdjusted),
                        p(c.interaction?.p ?? .nan)]
            })
            out += "interaction: the x-by-group term of one logistic fit on both groups' rows, errors clustered by question\n"
        }
        if !r.uncountedTerms.isEmpty {
            out += "\n\(r.uncountedTerms.count) term(s) longer than the index's orders were not counted (run `tailscope cooccur` to count them), e.g. \(r.uncountedTerms.prefix(5).map { "\"\($0)\"" }.joined(separator: ", "))\n"
        }
        return out
    }

    /// A count back from x = log10(v + 1).
    static func countText(_ x: Double) -> String {
        let v = pow(10, x) - 1
        if v < 10 { return Render.fixed(max(0, v), v.rounded() == v ? 0 : 1) }
        return "\(Int(v.rounded()))"
    }

    static func interval(_ i: Interval) -> JSON { .array([.double(i.low), .double(i.high)]) }

    public static func json(_ r: CorrelationReport) -> JSON {
        let o = r.options
        var groups: [JSON] = []
        for g in r.groups {
            var fit: JSON = .null
            if let f = g.logistic {
                fit = .object([
                    ("intercept", .double(f.coef[0])), ("intercept_se", .double(f.se[0])), ("intercept_p", .double(f.p[0])),
                    ("slope", .double(f.coef[1])), ("slope_se", .double(f.se[1])), ("slope_z", .double(f.z[1])), ("slope_p", .double(f.p[1])),
                    ("slope_ci95", interval(g.slopeCI!)), ("odds_ratio_per_10x", .double(exp(f.coef[1]))),
                    ("odds_ratio_ci95", .array([.double(exp(g.slopeCI!.low)), .double(exp(g.slopeCI!.high))])),
                    ("log_likelihood", .double(f.logLikelihood)), ("iterations", .int(Int64(f.iterations))),
                    ("covariates", .array(g.covariateNames.enumerated().map { k, name in .object([
                        ("term", .string(name)), ("estimate", .double(f.coef[k + 2])), ("se", .double(f.se[k + 2])), ("p", .double(f.p[k + 2])),
                    ]) })),
                    ("covariate_notes", .array(g.covariateNotes.map { .string($0) })),
                ])
            }
            groups.append(.object([
                ("group", .object(zip(r.groupFields, g.label).map { ($0.0, JSON.string($0.1)) })),
                ("label", .string(label(r, g))),
                ("n", .int(Int64(g.n))), ("without_terms", .int(Int64(g.withoutTerms))),
                ("accuracy", .double(g.accuracy)), ("accuracy_ci95", interval(g.accuracyCI)),
                ("spearman", .object([("rho", .double(g.spearman)), ("p", .double(g.spearmanP)), ("ci95", interval(g.spearmanCI))])),
                ("kendall_tau_b", .object([("tau", .double(g.kendall)), ("p", .double(g.kendallP)), ("ci95", interval(g.kendallCI))])),
                ("pearson", .object([("r", .double(g.pearson)), ("p", .double(g.pearsonP))])),
                ("logistic", fit), ("logistic_note", g.logisticNote.map { .string($0) } ?? .null),
                ("statistics_note", g.statisticsNote.map { .string($0) } ?? .null),
                ("gap", .object([("quantile", .double(o.gapQuantile)), ("value", .double(g.gap)), ("ci95", interval(g.gapCI)),
                                 ("top_n", .int(Int64(g.gapTop.n))), ("top_accuracy", .double(g.gapTop.accuracy)),
                                 ("bottom_n", .int(Int64(g.gapBottom.n))), ("bottom_accuracy", .double(g.gapBottom.accuracy))])),
                ("bins", .array(g.bins.map { b in .object([
                    ("x_low", .double(b.lo)), ("x_high", .double(b.hi)), ("x_mean", .double(b.meanX)),
                    ("n", .int(Int64(b.n))), ("accuracy", .double(b.mean)), ("ci95", .array([.double(b.ciLow), .double(b.ciHigh)])),
                ]) })),
                ("bootstrap_valid_resamples", .int(Int64(g.bootstrapValid))),
            ]))
        }
        return .object([
            ("tool", .string("tailscope correlate")), ("tool_version", .string(tailscopeVersion)),
            ("index", .string(o.index)), ("eval", .array(r.read.files.map { f in .object([("path", .string(f.path)), ("format", .string(f.format.rawValue)), ("rows", .int(Int64(f.rows)))]) })),
            ("skipped", .object(r.read.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, JSON.int(Int64($0.value))) })),
            ("feature", .object([
                ("x", .string("log10(v + 1)")), ("v", .string(r.featureDescription)),
                ("terms", .array((o.qaCooccurrence ? ["qa-cooccurrence"] : o.terms.map(\.description)).map { .string($0) })),
                ("aggregate", .string(o.aggregate.rawValue)), ("measure", .string(o.measure.rawValue)),
                ("window", o.qaCooccurrence ? .int(Int64(o.window)) : .null),
                ("counts_are_lower_bounds", .bool(r.countsAreLowerBounds)),
                ("relevant", o.qaCooccurrence ? .string((o.relevant ?? defaultRelevant(o.questionTerms)).rawValue) : .null),
                ("min_term_count", .int(Int64(o.minTermCount))),
                ("unit", .string(o.unit.rawValue)),
                ("skipped_rare_terms", .array(r.skippedRareTerms.map { .string($0) })),
            ])),
            ("settings", .object([("bins", .int(Int64(o.bins))), ("bin_scheme", .string(o.binScheme.rawValue)),
                                  ("bootstrap", .int(Int64(o.bootstrap))), ("seed", .int(Int64(bitPattern: o.seed))),
                                  ("gap_quantile", .double(o.gapQuantile))])),
            ("questions", .int(Int64(r.questions.count))),
            ("questions_without_terms", .int(Int64(r.questions.filter { $0.value == nil }.count))),
            ("uncounted_terms", .array(r.uncountedTerms.map { .string($0) })),
            ("groups", .array(groups)),
            ("comparisons", .array(r.comparisons.map { comparisonJSON($0, r) })),
            ("p_adjust", .string(o.adjust.rawValue)),
            ("seconds", .double(r.seconds)),
        ])
    }

    static func comparisonJSON(_ c: ArmComparison, _ r: CorrelationReport) -> JSON {
        .object([
            ("field", .string(r.compareField ?? "")),
            ("a", .string(label(r, r.groups[c.a]))), ("b", .string(label(r, r.groups[c.b]))),
            ("shared_questions", .int(Int64(c.shared))), ("questions_a", .int(Int64(c.questionsA))), ("questions_b", .int(Int64(c.questionsB))),
            ("slope_a", r.groups[c.a].logistic.map { .double($0.coef[1]) } ?? .null),
            ("slope_b", r.groups[c.b].logistic.map { .double($0.coef[1]) } ?? .null),
            ("slope_difference", ScalingRender.difference(c.slope)),
            ("gap_a", .double(r.groups[c.a].gap)), ("gap_b", .double(r.groups[c.b].gap)),
            ("gap_difference", ScalingRender.difference(c.gap)),
            ("interaction", ScalingRender.estimate(c.interaction)), ("interaction_p_adjusted", .double(c.interactionPAdjusted)),
            ("interaction_note", c.interactionNote.map { .string($0) } ?? .null),
        ])
    }

    static func csvField(_ s: String) -> String {
        if s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r") {
            return "\"" + s.replacingAll("\"", "\"\"") + "\""
        }
        return s
    }

    /// One row per question: id, group, terms, counts, feature, correct.
    public static func csv(_ r: CorrelationReport) -> String {
        if r.options.unit != .question {
            // One row per distinct term (or pair) and group: the units of --unit term/pair.
            var out = "group,\(r.options.unit == .pair ? "pair,window_count,docs" : "term,count,df"),questions,accuracy,value,x\n"
            for t in r.termUnits {
                let group = r.groups[t.group].label.joined(separator: "/")
                out += [group, t.term, t.count.map(String.init) ?? "", t.df.map(String.init) ?? "", "\(t.questions)",
                        "\(t.accuracy)", t.value.rounded() == t.value && abs(t.value) < 1e15 ? "\(Int64(t.value))" : "\(t.value)", "\(t.x)"]
                    .map(csvField).joined(separator: ",") + "\n"
            }
            return out
        }
        var out = "id,group,terms,counts,dfs,sources,value,x,correct\n"
        for q in r.questions {
            let terms = q.terms.map { $0.tokens.joined(separator: " ") }.joined(separator: ";")
            let counts = q.terms.map { $0.count.map(String.init) ?? "" }.joined(separator: ";")
            let dfs = q.terms.map { $0.df.map(String.init) ?? "" }.joined(separator: ";")
            let sources = q.terms.map(\.source.rawValue).joined(separator: ";")
            let value = q.value.map { $0.rounded() == $0 && abs($0) < 1e15 ? "\(Int64($0))" : "\($0)" } ?? ""
            let x = q.x.map { "\($0)" } ?? ""
            let correct = q.row.correct.map { $0 == 1 ? "1" : $0 == 0 ? "0" : "\($0)" } ?? ""
            let group = q.row.group.joined(separator: "/")
            out += [q.row.id, group, terms, counts, dfs, sources, value, x, correct].map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    public static func svg(_ r: CorrelationReport) -> String {
        var chart = LineChart(
            title: "Accuracy vs corpus frequency",
            xLabel: "v = \(r.featureDescription) (log scale; points at bin means)",
            yLabel: "accuracy",
            caption: "\(r.options.binScheme.rawValue) bins, Wilson 95% intervals; index \(baseName(r.options.index)), tokenizer \(r.indexMeta["tokenizer"] ?? "?")",
            series: r.groups.map { g in
                LineChart.Series(name: "\(label(r, g)) (n=\(g.n))", points: g.bins.map {
                    LineChart.Point(x: $0.meanX, y: $0.mean, low: $0.ciLow, high: $0.ciHigh)
                })
            })
        chart.logCountX = true
        return chart.render()
    }
}

extension String {
    func replacingAll(_ a: String, _ b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
