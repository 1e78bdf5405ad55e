import Support
import IndexStore

public enum PruneRender {
    static func pct(_ a: Int64, _ b: Int64) -> String { b == 0 ? "-" : fmt(100 * Double(a) / Double(b), 1) + "%" }

    /// The human summary (stderr).
    public static func text(_ r: PruneReport) -> String {
        if let phase = r.phase, phase != "finish" { return phaseText(r, phase) }
        var s = ""
        let what = r.dryRun ? "dry run (nothing written)" : "wrote \(r.output ?? "")"
        let passes = r.writeSeconds > 0
            ? "decide \(fmt(r.analyzeSeconds, 1)) s, \(r.scoreSeconds > 0 ? "score \(fmt(r.scoreSeconds, 1)) s, " : "")\(r.dryRun ? "measure" : "write") \(fmt(r.writeSeconds, 1)) s"
            : "one pass"
        s += "prune: \(what) in \(fmt(r.seconds, 1)) s (\(passes)), peak RSS \(formatBytes(Double(r.peakRSS)))\n"
        s += "\n"
        s += pad("", 8) + lpad("docs", 12) + lpad("tokens", 15) + lpad("types", 12) + lpad("hapax", 8) + lpad("bytes", 16) + "\n"
        for (name, st) in [("before", r.before), ("after", r.after)] {
            s += pad(name, 8) + lpad("\(st.docs)", 12) + lpad("\(st.tokens)", 15) + lpad("\(st.types)", 12)
                + lpad(fmt(100 * st.hapaxShare, 1) + "%", 8) + lpad("\(st.bytes)", 16) + "\n"
        }
        s += pad("kept", 8) + lpad(pct(r.after.docs, r.before.docs), 12) + lpad(pct(r.after.tokens, r.before.tokens), 15)
            + lpad(pct(r.after.types, r.before.types), 12) + lpad("", 8) + lpad(pct(r.after.bytes, r.before.bytes), 16) + "\n"
        if !r.dryRun, r.output != nil { s += "output: \(formatBytes(Double(r.outputBytes))) on disk\n" }
        s += "\nstep            docs in    dropped   tokens dropped  reasons\n"
        for st in r.steps {
            let reasons = st.reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.docs)" }.joined(separator: ", ")
            s += pad(st.step.rawValue, 14) + lpad("\(st.docsIn)", 9) + lpad("\(st.dropped)", 11) + lpad("\(st.tokensDropped)", 17) + "  " + reasons + "\n"
            s += "    " + st.parameters + "\n"
        }
        if let b = r.balanceExpected, let st = r.steps.first(where: { $0.step == .balance }) {
            s += "balance: kept \(st.docsIn - st.dropped) of \(st.docsIn); expected \(fmt(b.mean, 1)) ± \(fmt(b.sd, 1)) (sd)\n"
        }
        if let c = r.keepCutoff { s += "keep: score cutoff \(fmt(c, 4))\n" }
        if let p = r.prototypes {
            let sz = p.sizes.sorted()
            s += "keep: \(p.clusters) prototypes from \(p.sampled) sampled documents, \(p.iterations) iteration(s)\(p.converged ? "" : " (not converged)"), "
                + "mean cosine similarity to own prototype \(fmt(p.meanSimilarity, 3)), cluster sizes \(sz.first ?? 0)-\(sz.last ?? 0) (median \(sz.isEmpty ? 0 : sz[sz.count / 2])), fitted in \(fmt(p.seconds, 1)) s\n"
        }
        if let c = r.coverage {
            s += "\neval coverage (\(c.questions) questions with content terms, \(c.terms) distinct terms): before -> after\n"
            s += "  terms never seen              \(c.unseenTerms[0]) -> \(c.unseenTerms[1])\n"
            s += "  questions, rarest term = 0     \(c.rarestZero[0]) -> \(c.rarestZero[1])\n"
            s += "  questions, rarest term < 10    \(c.rarestUnder10[0]) -> \(c.rarestUnder10[1])\n"
            s += "  questions, rarest term < 100   \(c.rarestUnder100[0]) -> \(c.rarestUnder100[1])\n"
        }
        if !r.skipped.isEmpty {
            s += "skipped input: " + r.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        }
        if let m = r.manifest { s += "manifest: \(m)\n" }
        return s
    }

    /// One line for the plan and apply phases; the steps table for resolve.
    static func phaseText(_ r: PruneReport, _ phase: String) -> String {
        let shard = r.shard.map { " shard \($0.index)/\($0.count)" } ?? ""
        if r.alreadyComplete { return "prune \(phase)\(shard): already complete (\(r.stageFile ?? ""))\n" }
        switch phase {
        case "plan":
            return "prune plan\(shard): \(r.before.docs) documents, \(r.before.tokens) tokens planned in \(fmt(r.seconds, 1)) s, peak RSS \(formatBytes(Double(r.peakRSS))) -> \(r.stageFile ?? "")\n"
        case "apply":
            return "prune apply\(shard): wrote \(r.after.docs) documents (\(formatBytes(Double(r.outputBytes))) on disk) to \(r.output ?? "") in \(fmt(r.seconds, 1)) s, peak RSS \(formatBytes(Double(r.peakRSS)))\n"
        default:
            var s = "prune resolve: \(r.before.docs) documents decided in \(fmt(r.seconds, 1)) s, \(r.after.docs) kept (\(pct(r.after.docs, r.before.docs))), peak RSS \(formatBytes(Double(r.peakRSS))) -> \(r.stageFile ?? "")\n"
            for st in r.steps {
                let reasons = st.reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.docs)" }.joined(separator: ", ")
                s += pad(st.step.rawValue, 14) + lpad("\(st.docsIn)", 9) + lpad("\(st.dropped)", 11) + lpad("\(st.tokensDropped)", 17) + "  " + reasons + "\n"
            }
            return s
        }
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }

    static func stage(_ s: StageSummary) -> JSON {
        .object([("docs", .int(s.docs)), ("tokens", .int(s.tokens)), ("types", .int(s.types)), ("hapax", .int(s.hapax)),
                 ("hapax_share", .double(s.hapaxShare)), ("bytes", .int(s.bytes))])
    }

    public static func json(_ r: PruneReport) -> JSON {
        var o: [(String, JSON)] = [
            ("inputs", .array(r.inputs.map { .string($0) })),
            ("output", r.output.map { .string($0) } ?? .null),
            ("output_bytes_on_disk", r.dryRun ? .null : .int(r.outputBytes)),
            ("manifest", r.manifest.map { .string($0) } ?? .null),
            ("dry_run", .bool(r.dryRun)),
            ("phase", r.phase.map { .string($0) } ?? .null),
            ("shard", r.shard.map { .string("\($0.index)/\($0.count)") } ?? .null),
            ("already_complete", .bool(r.alreadyComplete)),
            ("outputs", .array(r.outputs.map { .string($0) })),
            ("before", stage(r.before)),
            ("after", stage(r.after)),
            ("steps", .array(r.steps.map { st in
                .object([("step", .string(st.step.rawValue)), ("parameters", .string(st.parameters)),
                         ("docs_in", .int(st.docsIn)), ("tokens_in", .int(st.tokensIn)),
                         ("dropped", .int(st.dropped)), ("tokens_dropped", .int(st.tokensDropped)),
                         ("reasons", .object(st.reasons.sorted { $0.key < $1.key }.map {
                             ($0.key, .object([("docs", .int($0.value.docs)), ("tokens", .int($0.value.tokens))]))
                         }))])
            })),
        ]
        if let m = r.minhash {
            o.append(("minhash", .object([("threshold", .double(m.threshold)), ("shingle", .int(Int64(m.shingle))),
                                          ("permutations", .int(Int64(m.perms))), ("bands", .int(Int64(m.bands))),
                                          ("rows", .int(Int64(m.rows))), ("seed", .uint(m.seed))])))
        }
        if let b = r.balanceExpected { o.append(("balance_expected", .object([("mean", .double(b.mean)), ("sd", .double(b.sd))]))) }
        if let c = r.keepCutoff { o.append(("keep_cutoff", .double(c))) }
        if let p = r.prototypes {
            o.append(("prototypes", .object([("dims", .int(Int64(Prototypes.dims))), ("sampled", .int(Int64(p.sampled))),
                                             ("clusters", .int(Int64(p.clusters))), ("iterations", .int(Int64(p.iterations))),
                                             ("converged", .bool(p.converged)), ("mean_similarity", .double(p.meanSimilarity)),
                                             ("sizes", .array(p.sizes.map { .int(Int64($0)) }))])))
        }
        if let c = r.coverage {
            func pair(_ x: [Int]) -> JSON { .object([("before", .int(Int64(x[0]))), ("after", .int(Int64(x[1])))]) }
            o.append(("coverage", .object([("questions", .int(Int64(c.questions))), ("terms", .int(Int64(c.terms))),
                                           ("unseen_terms", pair(c.unseenTerms)), ("rarest_zero", pair(c.rarestZero)),
                                           ("rarest_under_10", pair(c.rarestUnder10)), ("rarest_under_100", pair(c.rarestUnder100))])))
        }
        o.append(("skipped", .object(r.skipped.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })))
        o.append(("seconds", .double(r.seconds)))
        o.append(("peak_rss_bytes", .int(Int64(r.peakRSS))))
        return .object(o)
    }

    public static func explain(_ d: ManifestDocument) -> String {
        var s = "document \(d.doc): \(d.path):\(d.line) (byte \(d.offset)), \(d.tokens) tokens\n"
        if d.decision == "keep" {
            s += "  kept"
        } else {
            s += "  dropped by \(d.step ?? "?"): \(d.reason ?? "?")"
        }
        if let detail = d.detail { s += " — \(detail)" }
        s += "\n"
        if let m = d.matchDoc {
            s += "  matches document \(m)" + (d.matchPath.map { " at \($0):\(d.matchLine ?? 0)" } ?? "") + "\n"
        }
        if let sc = d.score { s += "  score \(fmt(sc, 4))\n" }
        return s
    }

    public static func json(_ d: ManifestDocument) -> JSON {
        .object([("doc", .int(d.doc)), ("path", .string(d.path)), ("line", .int(Int64(d.line))), ("offset", .int(d.offset)),
                 ("tokens", .int(Int64(d.tokens))), ("decision", .string(d.decision)),
                 ("step", d.step.map { .string($0) } ?? .null), ("reason", d.reason.map { .string($0) } ?? .null),
                 ("detail", d.detail.map { .string($0) } ?? .null), ("score", d.score.map { .double($0) } ?? .null),
                 ("match_doc", d.matchDoc.map { .int($0) } ?? .null), ("similarity", d.similarity.map { .double($0) } ?? .null)])
    }
}
