#if canImport(Glibc)
import Glibc
#endif
import Evaluation
import Support
import Reporting
import Statistics

/// A table both writers render: header, rows, and which columns are numeric (right-aligned).
struct Table {
    let header: [String]
    let rows: [[String]]
    var numeric: Set<Int> = []

    func html() -> String {
        var s = "<table>\n<thead><tr>" + header.enumerated().map { "<th\(numeric.contains($0.offset) ? " class=\"num\"" : "")>\(esc($0.element))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in rows {
            s += "<tr>" + r.enumerated().map { "<td\(numeric.contains($0.offset) ? " class=\"num\"" : "")>\(esc($0.element))</td>" }.joined() + "</tr>\n"
        }
        return s + "</tbody>\n</table>\n"
    }

    func markdown() -> String {
        func cell(_ s: String) -> String {
            var out = ""
            for ch in s { out += ch == "|" ? "\\|" : ch == "\n" ? " " : String(ch) }
            return out
        }
        var s = "| " + header.map(cell).joined(separator: " | ") + " |\n|"
        s += header.indices.map { numeric.contains($0) ? "---:|" : "---|" }.joined() + "\n"
        for r in rows { s += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
        return s
    }
}

func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}

/// A figure: file name, SVG, and the caption saying what was counted and how.
struct Figure {
    let file: String
    let svg: String
    let caption: String
}

/// One section of the report: heading, paragraphs, tables and figures, in order.
enum Block {
    case heading(String)
    case paragraph(String)
    case table(Table)
    case figure(Figure)
}

func num(_ x: Double, _ d: Int = 3) -> String { x.isFinite ? Render.fixed(x, d) : "n/a" }
func pct(_ x: Double) -> String { x.isFinite ? Render.pct(x) : "n/a" }
func ci(_ lo: Double?, _ hi: Double?, percent: Bool = false) -> String {
    guard let lo, let hi, lo.isFinite, hi.isFinite else { return "n/a" }
    return percent ? "[\(pct(lo)), \(pct(hi))]" : "[\(num(lo, 2)), \(num(hi, 2))]"
}
func sig(_ x: Double) -> String { Render.significant(x) }
/// Thousands separated by commas.
func grouped(_ v: Int64) -> String {
    let s = String(v.magnitude)
    var out = ""
    for (i, ch) in s.enumerated() { if i > 0 && (s.count - i) % 3 == 0 { out += "," }; out.append(ch) }
    return (v < 0 ? "-" : "") + out
}
func grouped(_ v: UInt64) -> String { grouped(Int64(v)) }
func count(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? "\(Int64(v))" : Render.fixed(v, 1) }

public enum ReportWriter {
    /// The report as blocks (shared by the HTML and Markdown writers).
    static func blocks(_ r: TailReport) -> [Block] {
        let s = r.stats
        let tok = s.meta["tokenizer"] ?? "?"
        let orders = s.orders.map { "\($0.order)" }.joined(separator: ",")
        let setup = "tokenizer \(tok) (case fold \(s.meta["case_fold"] ?? "?")), n-gram orders \(orders), index \(baseName(r.options.features.index))"
        var b: [Block] = []
        b.append(.heading("Corpus"))
        b.append(.paragraph("\(grouped(s.docs)) documents, \(grouped(s.tokens)) tokens from \(s.sources.count) source file(s); \(setup)."))
        b.append(.table(Table(header: ["order", "occurrences", "types", "hapax", "hapax share"], rows: s.orders.map {
            ["\($0.order)", grouped($0.occurrences), grouped($0.types), grouped($0.hapax), pct($0.hapaxShare)]
        }, numeric: [0, 1, 2, 3, 4])))
        var zipfText = "Zipf exponent: not enough types seen 5 or more times to fit."
        var series: [LineChart.Series] = [LineChart.Series(name: "unigram count by rank", points: r.rankFrequency.map {
            LineChart.Point(x: log10(Double($0.rank)), y: log10(Double($0.count)))
        }, markers: false)]
        if let fit = r.zipfLogBinned, let m = s.zipfMLE {
            zipfText = "Zipf exponent ≈ \(num(fit.exponent, 2)): the slope of log count on log rank, fitted by least squares to log-spaced ranks \(grouped(Int64(fit.fromRank)))–\(grouped(Int64(fit.toRank))) (every decade of ranks weighs the same; the types seen at least \(s.zipf?.minCount ?? 5) times; R² \(num(fit.r2, 3))), drawn dashed. Two other fits answer other questions and differ for a reason: the maximum-likelihood exponent over tokens (\(num(m.exponent, 2))) weighs each token, so the few most frequent types decide it; an ordinary least-squares line through every rank (slope \(num(s.zipf?.slope ?? .nan, 2))) weighs each type, so the long tail of rare types decides it. A single power law does not hold over the whole range, so the exponent depends on where it is fitted, and no fit's standard error says more than about two digits."
            series.append(LineChart.Series(name: "Zipf fit, exponent \(num(fit.exponent, 2)) (ranks \(fit.fromRank)–\(fit.toRank))", points: [fit.fromRank, fit.toRank].map {
                LineChart.Point(x: log10(Double($0)), y: fit.intercept - fit.exponent * log10(Double($0)))
            }, markers: false, dashed: true))
        }
        b.append(.paragraph(zipfText))
        var chart = LineChart(title: "Rank-frequency of unigrams", xLabel: "rank (log scale)", yLabel: "count (log scale)", caption: "", series: series)
        chart.logX = true; chart.logY = true; chart.yRange = nil
        b.append(.figure(Figure(file: "rank_frequency.svg", svg: chart.render(),
                                caption: "Unigram count against frequency rank on log-log axes (\(setup)); the dashed line is the least-squares fit over log-spaced ranks in the stated range.")))
        b.append(.paragraph("Cumulative coverage: the share of all \(grouped(s.orders.first?.occurrences ?? 0)) unigram occurrences covered by the most frequent types."))
        b.append(.table(Table(header: ["top types", "share of tokens"], rows: r.coverage.map { [grouped(Int64($0.types)), pct($0.share)] }, numeric: [0, 1])))

        // Eval sets.
        let o = r.options
        let f = r.features
        b.append(.heading("Tail coverage of the eval set\(r.sets.count > 1 ? "s" : "")"))
        b.append(.paragraph("Questions come from \(o.features.evals.map(baseName).joined(separator: ", ")), grouped by \(r.groupFields.joined(separator: ", ")). Each question's value v is the \(f.featureDescription) in the index\(f.countsAreLowerBounds ? " (a lower bound: the index dropped rare n-grams)" : ""). \(f.read.skipped.isEmpty ? "" : "Skipped rows: " + f.read.skipped.map { "\($0.value) \($0.key.rawValue)" }.sorted().joined(separator: ", ") + ".")"))
        if !f.uncountedTerms.isEmpty {
            b.append(.paragraph("\(f.uncountedTerms.count) distinct term(s) are longer than the index's n-grams and were not counted (run `tailscope cooccur` to count them): \(f.uncountedTerms.prefix(10).joined(separator: ", "))\(f.uncountedTerms.count > 10 ? ", ..." : "")."))
        }
        let edges = o.thresholds.map(count).joined(separator: ", ")
        var rows: [[String]] = []
        for set in r.sets {
            let empty = set.n == set.withoutTerms
            rows.append([set.label, "\(set.n)", "\(set.withoutTerms)"] + set.buckets.map { empty ? "–" : "\(pct($0.cumulativeShare)) (\($0.n))" })
        }
        let bucketNames = r.sets.first?.buckets.map(\.label) ?? []
        b.append(.table(Table(header: ["eval set", "questions", "no countable term"] + bucketNames.map { "v \($0) (cumulative)" },
                              rows: rows, numeric: Set(1..<(3 + bucketNames.count)))))
        b.append(.paragraph("Each cell: the share of questions (with a countable term) whose v is below the column's upper edge, and in brackets how many fall in that bucket alone. Thresholds: \(edges)."))
        let plotted = r.sets.filter { $0.n > $0.withoutTerms }
        let maxDecades = plotted.map(\.histogram.count).max() ?? 0
        let longest = plotted.first { $0.histogram.count == maxDecades }
        if let longest, maxDecades > 0 {
            let few = plotted.count <= 4
            let hist = BarChart(title: "Questions by corpus frequency (log bins)", xLabel: "v = \(f.featureDescription)", yLabel: "share of questions",
                                caption: "", categories: longest.histogram.map(\.label), series: plotted.map { set in
                BarChart.Series(name: "\(set.label) (n=\(set.n - set.withoutTerms))", values: (0..<maxDecades).map { $0 < set.histogram.count ? set.histogram[$0].share : 0 },
                                labels: few ? (0..<maxDecades).map { $0 < set.histogram.count ? "\(set.histogram[$0].n)" : "0" } : [])
            })
            var chart = hist
            chart.yRange = 0...max(0.1, min(1, ((plotted.flatMap { $0.histogram.map(\.share) }.max() ?? 1) * 10).rounded(.up) / 10))
            b.append(.figure(Figure(file: "tail_histogram.svg", svg: chart.render(),
                                    caption: "Share of each eval set's questions by v on decade bins (0, <10, 10–<100, ...)\(few ? "; bar labels are question counts" : ""); eval sets without a countable term are left out. v is the \(f.featureDescription), counted with \(setup).")))
        }
        for set in r.sets {
            if let a = set.answers {
                var text = "\(set.label): \(a.withAnswers) question(s) have a gold answer; \(a.unseen) of the \(a.counted) counted answers (\(pct(Double(a.unseen) / Double(max(1, a.counted))))) never occur in the corpus"
                if a.uncountable > 0 { text += "; \(a.uncountable) answer(s) are longer than the index's n-grams and were not counted" }
                text += "."
                if !a.unseenExamples.isEmpty { text += " Never seen: " + a.unseenExamples.map { "“\($0)”" }.joined(separator: ", ") + "." }
                b.append(.paragraph(text))
            }
        }
        // Accuracy: per eval set, or per model on each question set (never pooled over models).
        struct Scored { let label: String; let statistics: GroupResult; let buckets: [Bucket] }
        var scored: [Scored] = []
        for set in r.sets {
            if let stat = set.statistics { scored.append(Scored(label: set.label, statistics: stat, buckets: set.buckets)) }
            for m in set.models { if let stat = m.statistics { scored.append(Scored(label: "\(set.label) / \(m.name)", statistics: stat, buckets: m.buckets)) } }
        }
        b.append(.heading("Accuracy and the tail"))
        if scored.isEmpty {
            b.append(.paragraph("No eval set has correctness for every question, so accuracy is not reported (name the field with --correct-field)."))
        } else {
            b.append(.table(Table(header: ["\(o.modelField == nil ? "eval set" : "question set / model")", "n", "accuracy", "Spearman ρ [95% CI]", "Kendall τb", "logistic slope / 10x ± se", "odds ratio / 10x", "top−bottom \(pct(o.features.gapQuantile)) gap [95% CI]"],
                                  rows: scored.map { e in
                let g = e.statistics
                let slope = g.logistic.map { "\(num($0.coef[1])) ± \(num($0.se[1]))" } ?? "n/a"
                return [e.label, "\(g.n)", num(g.accuracy), g.spearman.isFinite ? "\(num(g.spearman)) \(ci(g.spearmanCI.low, g.spearmanCI.high))" : "n/a", num(g.kendall),
                        slope, g.oddsRatioPer10x.map { num($0, 2) } ?? "n/a", g.gap.isFinite ? "\(num(g.gap)) \(ci(g.gapCI.low, g.gapCI.high))" : "n/a"]
            }, numeric: [1, 2])))
            for e in scored where e.statistics.statisticsNote != nil {
                b.append(.paragraph("\(e.label): statistics n/a (\(e.statistics.statisticsNote!))."))
            }
            b.append(.paragraph("Correctness against x = log10(v + 1): rank correlations with bootstrap intervals (\(o.features.bootstrap) resamples, seed \(o.features.seed)), a logistic regression (slope per 10x frequency), and the accuracy gap between the most and least frequent \(pct(o.features.gapQuantile)) of questions, as `tailscope correlate` computes them\(o.modelField == nil ? "" : ", for each model on its question set (rows of several models on the same question are not pooled: they are not independent)")."))
            let bucketChart = BarChart(title: "Accuracy by frequency bucket", xLabel: "v = \(f.featureDescription)", yLabel: "accuracy",
                                       caption: "", categories: bucketNames, series: scored.map { e in
                BarChart.Series(name: e.label, values: e.buckets.map { $0.accuracy ?? .nan }, low: e.buckets.map { $0.ciLow ?? .nan },
                                high: e.buckets.map { $0.ciHigh ?? .nan }, labels: scored.count <= 4 ? e.buckets.map { $0.n > 0 ? "n=\($0.n)" : "" } : [])
            })
            b.append(.figure(Figure(file: "accuracy_by_bucket.svg", svg: bucketChart.render(),
                                    caption: "Accuracy per frequency bucket (thresholds \(edges)) with Wilson 95% intervals; v is the \(f.featureDescription), counted with \(setup).")))
            if o.modelField != nil {
                // Models side by side: one bucket x model table per question set.
                for set in r.sets where set.models.contains(where: { $0.statistics != nil }) {
                    let ms = set.models.filter { $0.statistics != nil }
                    b.append(.paragraph("\(set.label): accuracy [Wilson 95% interval] (questions) per bucket and model."))
                    b.append(.table(Table(header: ["v"] + ms.map(\.name), rows: bucketNames.indices.map { k in
                        [bucketNames[k]] + ms.map { m in
                            let x = m.buckets[k]
                            return x.accuracy.map { "\(num($0, 2)) \(ci(x.ciLow, x.ciHigh)) (\(x.n))" } ?? "– (0)"
                        }
                    }, numeric: Set(1...ms.count))))
                }
            } else {
                b.append(.table(Table(header: ["eval set"] + bucketNames.map { "v \($0)" }, rows: scored.map { e in
                    [e.label] + e.buckets.map { k in k.accuracy.map { "\(num($0, 2)) \(ci(k.ciLow, k.ciHigh))" } ?? "–" }
                }, numeric: Set(1...bucketNames.count))))
            }
            var line = LineChart(title: "Accuracy vs corpus frequency", xLabel: "v = \(f.featureDescription) (log scale)", yLabel: "accuracy", caption: "",
                                 series: scored.map { e in
                LineChart.Series(name: "\(e.label) (n=\(e.statistics.n))", points: e.statistics.bins.map {
                    LineChart.Point(x: $0.meanX, y: $0.mean, low: $0.ciLow, high: $0.ciHigh)
                })
            })
            line.logCountX = true
            b.append(.figure(Figure(file: "accuracy_vs_frequency.svg", svg: line.render(),
                                    caption: "Binned accuracy (\(o.features.binScheme.rawValue) bins of x = log10(v + 1), points at bin means) with Wilson 95% intervals, one line per \(o.modelField == nil ? "eval set" : "question set and model"); \(setup).")))
        }

        // Scale: does a bigger model close the gap?
        if o.modelField != nil {
            b.append(.heading("Scale"))
            if let sr = r.scaling {
                b.append(.paragraph("Per question set, the models' sizes s = log10(parameters) and the joint model logit P(correct) = b0 + b1 x + b2 s + b3 x s (x and s centered) with errors clustered by question, as `tailscope scaling` fits it on the questions every model answered: b3 < 0 means the frequency slope shrinks as models grow. Sizes: \(Array(Set(sr.groups.flatMap(\.models).map { "\($0.name) = \(ScalingRender.params($0.params))" })).sorted().joined(separator: ", "))."))
                for g in sr.groups {
                    let name = g.label.isEmpty ? "all" : g.label.joined(separator: " / ")
                    if let note = g.note { b.append(.paragraph("\(name): not analysed (\(note)).")); continue }
                    var text = "\(name): \(g.questionsAll) questions answered by all \(g.models.count) models. "
                    if let b3 = g.joint.interaction {
                        text += "b3 = \(num(b3.value)) [\(num(b3.low)), \(num(b3.high))], p = \(num(b3.p, 4)): "
                        text += b3.p < 0.05 ? (b3.value < 0 ? "the frequency slope shrinks as models grow." : "the frequency slope grows with model size.")
                                            : "no evidence that the frequency slope changes with model size."
                    } else {
                        text += "No joint fit (\(g.joint.note ?? "")). "
                    }
                    if let e = g.extrapolations.first(where: { $0.curve == .linear }) {
                        text += " Extrapolated linearly from \(e.sizesUsed) sizes, the rarest bucket would reach accuracy \(num(e.target, 2)) at "
                        text += e.crossing.map { "\(ScalingRender.params(log10: $0)) parameters (95% interval \(ScalingRender.params(log10: e.ci.low))–\(ScalingRender.params(log10: e.ci.high)))." } ?? "no size (\(e.reason ?? ""))."
                    }
                    b.append(.paragraph(text))
                    b.append(.table(Table(header: ["model", "params", "n", "accuracy", "slope / 10x (own fit) [95% CI]", "gap"], rows: g.models.map { m in
                        [m.name, ScalingRender.params(m.params), "\(m.n)", num(m.accuracy),
                         m.slope.map { "\(num($0.value)) [\(num($0.low)), \(num($0.high))]" } ?? "n/a", num(m.gap)]
                    }, numeric: [2, 3])))
                }
                b.append(.figure(Figure(file: "scaling.svg", svg: ScalingRender.svg(sr),
                                        caption: "Accuracy against model size (log scale), one line per frequency bucket (thresholds \(edges)), with Wilson 95% intervals; v is the \(f.featureDescription), counted with \(setup).")))
            } else {
                b.append(.paragraph("Not shown: \(r.scalingNote ?? "no sizes"). Give the sizes with --sizes or --size-field."))
            }
        }

        // Contamination.
        b.append(.heading("Contamination"))
        if let c = r.contamination {
            b.append(.paragraph("Scanned \(c.corpus.map(baseName).joined(separator: ", ")) (\(c.docs) documents) for every \(c.n)-token n-gram of every question (\(c.ngrams) distinct n-grams; \(c.docsWithHits) document(s) hold one). Questions shorter than \(c.n) tokens cannot be tested."))
            b.append(.table(Table(header: ["eval set", "questions", "tested (≥ \(c.n) tokens)", "share a \(c.n)-gram with the corpus", "share of tested"],
                                  rows: r.sets.map { set in
                [set.label, "\(set.n)", "\(set.contaminationTested ?? 0)", "\(set.contaminationShared ?? 0)",
                 pct(Double(set.contaminationShared ?? 0) / Double(max(1, set.contaminationTested ?? 0)))]
            }, numeric: [1, 2, 3, 4])))
        } else {
            b.append(.paragraph("Not measured: pass the corpus with --corpus FILE... to scan it for \(o.contaminationN)-grams shared with the questions."))
        }
        // The rarest questions, last: long tables.
        if r.sets.contains(where: { !$0.rarest.isEmpty }) { b.append(.heading("Rarest questions")) }
        for set in r.sets where !set.rarest.isEmpty {
            b.append(.paragraph("The \(set.rarest.count) rarest questions of \(set.label) (smallest v first):"))
            b.append(.table(Table(header: ["id", "question", "terms (count)", "v"] + (set.rarest.contains { $0.row.correct != nil } ? ["correct"] : []),
                                  rows: set.rarest.map { q in
                let terms = q.terms.map { "\($0.text) (\($0.count.map { "\($0)" } ?? "uncounted"))" }.joined(separator: ", ")
                let question = q.row.question.count > 160 ? String(q.row.question.prefix(157)) + "..." : q.row.question
                return [q.row.id, question, terms, count(q.value ?? .nan)] + (q.row.correct.map { [num($0, 2)] } ?? (set.rarest.contains { $0.row.correct != nil } ? [""] : []))
            }, numeric: [3])))
        }

        return b
    }

    static let css = """
    body{font-family:Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
    h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
    .meta{color:#555;font-size:.9em}table{border-collapse:collapse;margin:.8em 0;font-size:.88em}
    th,td{border-bottom:1px solid #e3e3e3;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f6f6f6}
    td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1em 0}
    figcaption{color:#555;font-size:.85em;max-width:760px}svg{max-width:100%;height:auto}
    """

    /// Self-contained HTML (inline CSS and SVG; no scripts, no network). Also well-formed XML.
    public static func html(_ r: TailReport) -> String {
        var s = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(esc(title(r)))</title>
        <style>\(css)</style>
        </head>
        <body>
        <h1>\(esc(title(r)))</h1>
        <p class="meta">\(esc(subtitle(r)))</p>

        """
        for block in blocks(r) {
            switch block {
            case .heading(let h): s += "<h2>\(esc(h))</h2>\n"
            case .paragraph(let p): s += "<p>\(esc(p))</p>\n"
            case .table(let t): s += t.html()
            case .figure(let f): s += "<figure>\n\(f.svg)<figcaption>\(esc(f.caption))</figcaption>\n</figure>\n"
            }
        }
        return s + "</body>\n</html>\n"
    }

    /// Markdown with the figures as SVG files next to it.
    public static func markdown(_ r: TailReport) -> (text: String, figures: [(String, String)]) {
        var s = "# \(title(r))\n\n\(subtitle(r))\n\n"
        var figs: [(String, String)] = []
        for block in blocks(r) {
            switch block {
            case .heading(let h): s += "## \(h)\n\n"
            case .paragraph(let p): s += "\(p)\n\n"
            case .table(let t): s += t.markdown() + "\n"
            case .figure(let f):
                s += "![\(f.caption)](\(f.file))\n\n*\(f.caption)*\n\n"
                figs.append((f.file, f.svg))
            }
        }
        return (s, figs)
    }

    static func title(_ r: TailReport) -> String {
        "Tail coverage: \(r.options.features.evals.map(baseName).joined(separator: ", ")) in \(baseName(r.options.features.index))"
    }

    static func subtitle(_ r: TailReport) -> String {
        "Generated by tailscope \(r.stats.meta["tool_version"] ?? "") on \(isoNow()) in \(num(r.seconds, 1)) s."
    }

    static func bucketJSON(_ k: Bucket) -> JSON {
        .object([("label", .string(k.label)), ("lo", .double(k.lo)), ("hi", k.hi.isFinite ? .double(k.hi) : .null), ("n", .int(Int64(k.n))),
                 ("share", .double(k.share)), ("cumulative_share", .double(k.cumulativeShare)),
                 ("accuracy", k.accuracy.map { .double($0) } ?? .null),
                 ("ci", k.ciLow.map { .array([.double($0), .double(k.ciHigh!)]) } ?? .null)])
    }

    static func statisticsJSON(_ g: GroupResult) -> JSON {
        .object([
            ("n", .int(Int64(g.n))), ("accuracy", .double(g.accuracy)),
            ("spearman", .double(g.spearman)), ("spearman_p", .double(g.spearmanP)),
            ("spearman_ci", .array([.double(g.spearmanCI.low), .double(g.spearmanCI.high)])),
            ("kendall", .double(g.kendall)), ("kendall_p", .double(g.kendallP)),
            ("pearson", .double(g.pearson)),
            ("logistic", g.logistic.map { l in .object([("intercept", .double(l.coef[0])), ("slope", .double(l.coef[1])),
                                                        ("slope_se", .double(l.se[1])), ("slope_p", .double(l.p[1]))]) } ?? .null),
            ("statistics_note", g.statisticsNote.map { .string($0) } ?? .null),
            ("gap", .double(g.gap)), ("gap_ci", .array([.double(g.gapCI.low), .double(g.gapCI.high)])),
        ])
    }

    static func setJSON(_ set: EvalSetTail) -> JSON {
        let models: [JSON] = set.models.map { m in .object([
            ("model", .string(m.name)), ("buckets", .array(m.buckets.map(bucketJSON))),
            ("statistics", m.statistics.map(statisticsJSON) ?? .null),
        ]) }
        let rarest: [JSON] = set.rarest.map { q in
            .object([("id", .string(q.row.id)), ("question", .string(q.row.question)), ("value", q.value.map { .double($0) } ?? .null),
                     ("correct", q.row.correct.map { .double($0) } ?? .null),
                     ("terms", .array(q.terms.map { t in .object([("text", .string(t.text)), ("count", t.count.map { .uint($0) } ?? .null),
                                                                  ("df", t.df.map { .uint($0) } ?? .null)]) }))])
        }
        let answers: JSON = set.answers.map { a in .object([("with_answers", .int(Int64(a.withAnswers))), ("counted", .int(Int64(a.counted))),
                                                            ("unseen", .int(Int64(a.unseen))), ("uncountable", .int(Int64(a.uncountable))),
                                                            ("unseen_examples", .array(a.unseenExamples.map { .string($0) }))]) } ?? .null
        let contamination: JSON = set.contaminationTested.map { t in .object([("tested", .int(Int64(t))), ("shared", .int(Int64(set.contaminationShared ?? 0)))]) } ?? .null
        return .object([
            ("label", .string(set.label)), ("questions", .int(Int64(set.n))), ("without_terms", .int(Int64(set.withoutTerms))),
            ("buckets", .array(set.buckets.map(bucketJSON))),
            ("histogram", .array(set.histogram.map(bucketJSON))),
            ("answers", answers), ("rarest", .array(rarest)),
            ("statistics", set.statistics.map(statisticsJSON) ?? .null),
            ("contamination", contamination), ("models", .array(models)),
        ])
    }

    public static func json(_ r: TailReport) -> JSON {
        let s = r.stats
        let zipf: JSON = r.zipfLogBinned.map { z in .object([("exponent", .double(z.exponent)), ("intercept", .double(z.intercept)),
                                                             ("r2", .double(z.r2)), ("from_rank", .int(Int64(z.fromRank))),
                                                             ("to_rank", .int(Int64(z.toRank))), ("points", .int(Int64(z.points)))]) } ?? .null
        let contamination: JSON = r.contamination.map { c in .object([("n", .int(Int64(c.n))), ("corpus", .array(c.corpus.map { .string($0) })),
                                                                      ("docs", .int(c.docs)), ("docs_with_hits", .int(c.docsWithHits)),
                                                                      ("ngrams", .int(Int64(c.ngrams)))]) } ?? .null
        var scale: JSON = .null
        if let sr = r.scaling { scale = ScalingRender.json(sr) } else if let note = r.scalingNote { scale = .object([("note", .string(note))]) }
        let modelField: JSON = r.options.modelField.map { .string($0) } ?? .null
        return .object([
            ("index", .string(r.options.features.index)),
            ("evals", .array(r.options.features.evals.map { .string($0) })),
            ("feature", .string(r.features.featureDescription)),
            ("counts_are_lower_bounds", .bool(r.features.countsAreLowerBounds)),
            ("corpus", Render.statsJSON(s)),
            ("coverage", .array(r.coverage.map { .object([("types", .int(Int64($0.types))), ("share", .double($0.share))]) })),
            ("rank_frequency", .array(r.rankFrequency.map { .array([.int(Int64($0.rank)), .uint($0.count)]) })),
            ("zipf_note", .string("exponent: least squares of log count on log rank over log-spaced ranks in [from_rank, to_rank]; corpus.zipf_mle weighs tokens (the head), corpus.zipf weighs every rank (the tail)")),
            ("zipf_log_binned", zipf),
            ("thresholds", .array(r.options.thresholds.map { .double($0) })),
            ("group_by", .array(r.groupFields.map { .string($0) })),
            ("uncounted_terms", .array(r.features.uncountedTerms.map { .string($0) })),
            ("sets", .array(r.sets.map(setJSON))),
            ("contamination", contamination),
            ("model_field", modelField),
            ("scale", scale),
            ("seconds", .double(r.seconds)),
        ])
    }

    /// Writes index.html, report.md, report.json and the figures into `dir` (each file atomically).
    /// Every file `write` may create in the report directory.
    public static let fileNames = ["index.html", "report.md", "report.json", "rank_frequency.svg", "tail_histogram.svg",
                                   "accuracy_by_bucket.svg", "accuracy_vs_frequency.svg", "scaling.svg"]

    /// Refuses, before anything is read, a report directory that is a file, or one whose report
    /// files would replace an input (`checkOutputs`).
    public static func checkDestination(_ dir: String, inputs: [NamedPath]) throws {
        var st = stat()
        if stat(dir, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR {
            throw UsageError("-o \(dir) is not a directory; the report is a folder of files")
        }
        let base = dir.hasSuffix("/") ? String(dir.dropLast()) : dir
        if stat(dir, &st) != 0 {
            // A new folder: its parent must exist, and cannot hold an input of the same name.
            _ = try OutputDestination(base)
            return
        }
        try checkOutputs(inputs: inputs, outputs: fileNames.map { NamedPath("-o", base + "/" + $0) })
    }

    public static func write(_ r: TailReport, to dir: String) throws {
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw OutputError(path: dir, "cannot create the directory: \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw UsageError("-o \(dir) is not a directory; the report is a folder of files")
        }
        let md = markdown(r)
        for (file, svg) in md.figures { try writeTextFile(dir + "/" + file, svg) }
        // A figure of an earlier report that this one does not have would look like part of it.
        for file in fileNames where file.hasSuffix(".svg") && !md.figures.contains(where: { $0.0 == file }) {
            unlink(dir + "/" + file)
        }
        try writeTextFile(dir + "/report.json", json(r).render() + "\n")
        try writeTextFile(dir + "/report.md", md.text)
        try writeTextFile(dir + "/index.html", html(r))
    }
}
