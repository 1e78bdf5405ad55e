import Support

public enum CooccurRender {
    public static func text(_ r: CooccurReport, _ o: CooccurOptions) -> String {
        if r.alreadyComplete {
            return "Shard \(o.shard.index)/\(o.shard.count) in \(o.shardOutput ?? "") is already complete (\(r.docs) docs); nothing was read\n"
        }
        var s = "Counted \(r.patterns) terms and \(r.pairs) question-term/answer pairs for \(r.questions) distinct questions in \(r.docs) docs (\(r.tokens) tokens)\n"
        if let p = o.pairs { s += "and \(r.questionSidePairs) question-side pairs (--pairs \(p)), read by `correlate --unit pair --pairs \(p)`\n" }
        s += "Setup \(format1(r.setupSeconds)) s; pass \(format1(r.passSeconds)) s, \(format1(Double(r.bytes) / max(r.passSeconds, 1e-9) / 1e6)) MB/s; store \(format1(r.storeSeconds)) s; total \(format1(r.seconds)) s\n"
        s += "Questions with a document holding a question term and the answer: \(r.questionsWithDocs) of \(r.questions)"
        if r.questionsWithoutTerms > 0 { s += "; \(r.questionsWithoutTerms) without a question term or answer" }
        let what = "window \(o.window), question terms \(o.questionTerms.map(\.description).joined(separator: ","))\(o.pairs.map { "; pairs " + $0.description } ?? "")"
        if let out = o.shardOutput {
            s += "\nShard \(o.shard.index)/\(o.shard.count) (by \(o.shard.by.rawValue)) stored in \(out) (\(what)); sum all \(o.shard.count) into the index with `tailscope merge SHARDS --into \(o.index)`\n"
        } else {
            s += "\nStored in \(o.index) (\(what))\n"
        }
        if !r.skipped.isEmpty { s += "Skipped corpus input: " + r.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "\n" }
        if !r.topPairs.isEmpty {
            s += "\n" + Render.table(["question term", "answer", "docs", "within \(o.window)"], r.topPairs.map { [$0.0, $0.1, "\($0.2)", "\($0.3)"] })
        }
        return s
    }

    public static func json(_ r: CooccurReport, _ o: CooccurOptions) -> JSON {
        .object([
            ("index", .string(o.index)), ("window", .int(Int64(o.window))),
            ("shard", .string(o.shard.description)), ("shard_output", o.shardOutput.map { .string($0) } ?? .null),
            ("already_complete", .bool(r.alreadyComplete)),
            ("question_terms", .string(o.questionTerms.map(\.description).joined(separator: ","))),
            ("docs", .int(r.docs)), ("tokens", .int(r.tokens)), ("bytes", .int(r.bytes)),
            ("setup_seconds", .double(r.setupSeconds)), ("pass_seconds", .double(r.passSeconds)),
            ("store_seconds", .double(r.storeSeconds)), ("seconds", .double(r.seconds)),
            ("terms", .int(Int64(r.patterns))), ("pairs", .int(Int64(r.pairs))), ("questions", .int(Int64(r.questions))),
            ("question_side_pairs", .int(Int64(r.questionSidePairs))), ("pairs_spec", o.pairs.map { .string($0.description) } ?? .null),
            ("questions_with_docs", .int(Int64(r.questionsWithDocs))),
            ("questions_without_terms", .int(Int64(r.questionsWithoutTerms))),
            ("index_sources_not_in_corpus", .int(Int64(r.indexSourcesNotInCorpus))),
            ("skipped", .object(r.skipped.sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) })),
            ("top_pairs", .array(r.topPairs.map { .object([("question_term", .string($0.0)), ("answer", .string($0.1)), ("docs", .uint($0.2)), ("window", .uint($0.3))]) })),
        ])
    }
}
