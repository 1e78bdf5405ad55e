#if canImport(Glibc)
import Glibc
#endif
import IndexStore

/// The query commands' tables and JSON (the generic helpers are in Support).
extension Render {
    public static func statsText(_ s: IndexStatistics) -> String {
        var out = "index        \(s.path)\n"
        out += "tokenizer    \(s.meta["tokenizer_description"] ?? "?")\n"
        out += "orders       1-\(s.meta["max_order"] ?? "?"), min count \(s.meta["min_count"] ?? "1")"
            + (s.meta["counts_exact"] == "1" ? ", counts exact\n" : ", counts are LOWER BOUNDS (merged from pruned inputs)\n")
        out += "sources      \(s.sources.count)\n"
        out += "documents    \(s.docs)\n"
        out += "tokens       \(s.tokens)\n\n"
        out += table(["order", "occurrences", "types", "stored", "hapax", "hapax share"], s.orders.map {
            ["\($0.order)", "\($0.occurrences)", "\($0.types)", "\($0.stored)", "\($0.hapax)", pct($0.hapaxShare)]
        })
        if let z = s.zipf {
            out += "\nZipf slope   \(fixed(z.slope, 3)) (OLS of log10 count on log10 rank, ranks 1-\(z.maxRank): types seen >= \(z.minCount) times; R^2 \(fixed(z.r2, 3)))\n"
            if let m = s.zipfMLE {
                out += "Zipf MLE     s = \(fixed(m.exponent, 2)) (p(r) ∝ r^-s over the same ranks, \(m.tokens) tokens: weighs each token, so the head decides it)\n"
            }
            if let b = s.zipfLogBinned {
                out += "Zipf         exponent ≈ \(fixed(b.exponent, 2)) over log-spaced ranks \(b.fromRank)-\(b.toRank) (every decade of ranks weighs the same; R^2 \(fixed(b.r2, 3))); the OLS slope above weighs each type, so the tail decides it\n"
            }
        } else {
            out += "\nZipf slope   n/a (fewer than 10 types seen 5 or more times)\n"
        }
        let skippedTotal = s.skipped.values.reduce(0, +)
        out += "skipped      " + (skippedTotal == 0 ? "none" : s.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")) + "\n"
        out += "invalid UTF-8 sequences replaced: \(s.replacedInvalidUTF8)\n"
        return out
    }

    public static func statsJSON(_ s: IndexStatistics) -> JSON {
        .object([
            ("index", .string(s.path)),
            ("meta", .object(s.meta.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("docs", .int(s.docs)), ("tokens", .int(s.tokens)),
            ("orders", .array(s.orders.map {
                .object([("order", .int(Int64($0.order))), ("occurrences", .uint($0.occurrences)),
                         ("types", .uint($0.types)), ("stored", .uint($0.stored)), ("hapax", .uint($0.hapax)),
                         ("hapax_share", .double($0.hapaxShare))])
            })),
            ("zipf", s.zipf.map { z in .object([("slope", .double(z.slope)), ("intercept", .double(z.intercept)),
                                                ("r2", .double(z.r2)), ("max_rank", .int(Int64(z.maxRank))),
                                                ("min_count", .uint(z.minCount)),
                                                ("method", .string("OLS of log10(count) on log10(rank)"))]) } ?? .null),
            ("zipf_mle", s.zipfMLE.map { m in .object([("exponent", .double(m.exponent)), ("se", .double(m.standardError)),
                                                      ("max_rank", .int(Int64(m.maxRank))), ("tokens", .uint(m.tokens)),
                                                      ("log_likelihood", .double(m.logLikelihood)),
                                                      ("method", .string("maximum likelihood, p(r) proportional to r^-s over ranks 1..max_rank"))]) } ?? .null),
            ("zipf_log_binned", s.zipfLogBinned.map { b in .object([("exponent", .double(b.exponent)), ("r2", .double(b.r2)),
                                                                   ("from_rank", .int(Int64(b.fromRank))), ("to_rank", .int(Int64(b.toRank))),
                                                                   ("method", .string("least squares of log10(count) on log10(rank) over log-spaced ranks"))]) } ?? .null),
            ("skipped", .object(s.skipped.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("replaced_invalid_utf8", .int(s.replacedInvalidUTF8)),
            ("sources", .array(s.sources.map(sourceJSON))),
        ])
    }

    public static func sourceJSON(_ s: SourceRecord) -> JSON {
        .object([("path", .string(s.path)), ("size", .int(s.size)), ("checksum", .string(s.checksum)),
                 ("container", .string(s.container)), ("format", .string(s.format)), ("shard", .string(s.shard)),
                 ("docs", .int(s.docs)), ("tokens", .int(s.tokens)), ("bytes_decompressed", .int(s.bytesDecompressed)),
                 ("replaced_invalid_utf8", .int(s.replacedInvalidUTF8)),
                 ("skipped", .object(s.skipped.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                 ("incomplete", .bool(s.incomplete))])
    }

    public static func countsText(_ rows: [TermCount]) -> String {
        table(["query", "tokens", "n", "count", "df", "note"], rows.map {
            [$0.query, $0.tokens.joined(separator: " "), "\($0.tokens.count)",
             $0.count.map { "\($0)" } ?? "-", $0.df.map { "\($0)" } ?? "-", $0.note ?? ""]
        })
    }

    public static func countsJSON(_ rows: [TermCount]) -> JSON {
        .array(rows.map {
            .object([("query", .string($0.query)), ("tokens", .array($0.tokens.map { .string($0) })),
                     ("n", .int(Int64($0.tokens.count))),
                     ("count", $0.count.map { .uint($0) } ?? .null), ("df", $0.df.map { .uint($0) } ?? .null),
                     ("note", $0.note.map { .string($0) } ?? .null)])
        })
    }

    public static func topText(_ rows: [NGramRow]) -> String {
        table(["rank", "ngram", "count", "df"],
              rows.enumerated().map { ["\($0.offset + 1)", $0.element.ngram, "\($0.element.count)", "\($0.element.df)"] })
    }

    public static func topJSON(_ rows: [NGramRow], order: Int, bottom: Bool) -> JSON {
        .object([("order", .int(Int64(order))), ("direction", .string(bottom ? "bottom" : "top")),
                 ("rows", .array(rows.map { .object([("ngram", .string($0.ngram)), ("count", .uint($0.count)), ("df", .uint($0.df))]) }))])
    }

    public static func indexReportText(_ r: IndexReport) -> String {
        if !r.wroteIndex { return "\(r.output): nothing new to index (\(r.sourcesAlreadyIndexed.count) source(s) already indexed)\n" }
        let mb = Double(r.bytes) / 1e6
        return "\(r.output): indexed \(r.sourcesIndexed.count) source(s), \(r.docs) docs, \(r.tokens) tokens, "
            + "\(format1(mb)) MB of text in \(fixed(r.seconds, 1)) s (\(format1(mb / max(r.seconds, 1e-9))) MB/s; "
            + "counting \(fixed(r.countSeconds, 1)) s, writing \(fixed(r.writeSeconds, 1)) s; \(r.spills) spill run(s))"
            + (r.sourcesAlreadyIndexed.isEmpty ? "" : "; \(r.sourcesAlreadyIndexed.count) already indexed, skipped")
            + (r.unreadable.isEmpty ? "" : "; \(r.unreadable.count) unreadable, skipped") + "\n"
    }

    public static func indexReportJSON(_ r: IndexReport) -> JSON {
        .object([("output", .string(r.output)), ("wrote_index", .bool(r.wroteIndex)),
                 ("docs", .int(r.docs)), ("tokens", .int(r.tokens)), ("bytes", .int(r.bytes)),
                 ("seconds", .double(r.seconds)), ("count_seconds", .double(r.countSeconds)),
                 ("write_seconds", .double(r.writeSeconds)), ("spills", .int(Int64(r.spills))),
                 ("peak_rss_bytes", .int(Int64(peakRSS()))),
                 ("already_indexed", .array(r.sourcesAlreadyIndexed.map { .string($0) })),
                 ("unreadable", .array(r.unreadable.map { .string($0) })),
                 ("sources", .array(r.sourcesIndexed.map(sourceJSON)))])
    }
}
