import Tokenization

/// The settings that decide what an index's counts mean. Indexes combine only when these match.
public struct IndexSettings: Sendable, Equatable {
    public var tokenizer: TokenizerConfig
    public var maxOrder: Int
    public var minCount: UInt64

    public init(tokenizer: TokenizerConfig, maxOrder: Int, minCount: UInt64) {
        self.tokenizer = tokenizer
        self.maxOrder = maxOrder
        self.minCount = minCount
    }

    var metaPairs: [(String, String)] {
        [("tokenizer", TokenizerConfig.name), ("tokenizer_description", tokenizer.description),
         ("case_fold", tokenizer.caseFold ? "1" : "0"), ("unicode_version", tokenizerUnicodeVersion),
         ("max_order", "\(maxOrder)"), ("min_count", "\(minCount)")]
    }

    /// Settings read back from an index's meta table.
    public init(meta: [String: String]) throws(IndexingError) {
        guard meta["tokenizer"] == TokenizerConfig.name else {
            throw IndexingError("the index uses tokenizer \(meta["tokenizer"] ?? "?"), this tailscope has \(TokenizerConfig.name)")
        }
        guard meta["unicode_version"] == tokenizerUnicodeVersion else {
            throw IndexingError("the index was tokenized with Unicode \(meta["unicode_version"] ?? "?") tables, this tailscope has \(tokenizerUnicodeVersion)")
        }
        tokenizer = TokenizerConfig(caseFold: meta["case_fold"] == "1")
        maxOrder = Int(meta["max_order"] ?? "") ?? 1
        minCount = UInt64(meta["min_count"] ?? "") ?? 1
    }

    /// Why two indexes cannot be combined, or nil when they can.
    func mismatch(_ o: IndexSettings) -> String? {
        if tokenizer != o.tokenizer { return "case \(tokenizer.caseFold ? "folded" : "kept") vs \(o.tokenizer.caseFold ? "folded" : "kept")" }
        if maxOrder != o.maxOrder { return "orders 1-\(maxOrder) vs 1-\(o.maxOrder)" }
        if minCount != o.minCount { return "--min-count \(minCount) vs \(o.minCount)" }
        return nil
    }
}

/// A failure of the indexing pipeline that is not about one input line.
public struct IndexingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

extension IndexingError: ExitCoded { public var exitStatus: ExitStatus { .dataError } }
