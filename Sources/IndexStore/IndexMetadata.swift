/// An index's `meta` table as a typed value (the keys are documented in indexes/README.md).
/// `schemaVersion` is the file's `user_version`, the number of migrations applied, which the
/// writer also records in `meta.schema_version`.
public struct IndexMetadata: Sendable, Equatable {
    public var tool: String
    public var toolVersion: String
    public var schemaVersion: Int
    /// The tokenizer's name, its settings as text, whether it folds case, and its tables' Unicode version.
    public var tokenizer: String
    public var tokenizerDescription: String
    public var caseFold: Bool
    public var unicodeVersion: String
    public var maxOrder: Int
    public var minCount: UInt64
    public var docs: Int64
    public var tokens: Int64
    public var createdAt: String
    public var updatedAt: String
    /// False only after merging inputs built with `--min-count` > 1: counts of orders >= 2 are
    /// then lower bounds.
    public var countsExact: Bool
    public var complete: Bool
    /// The indexes a merged index was summed from.
    public var mergedFrom: [String]

    /// Reads the typed values from the key-value table; a missing key takes the value an index
    /// without it means (old indexes lack some).
    public init(meta m: [String: String], userVersion: Int) {
        tool = m["tool"] ?? ""
        toolVersion = m["tool_version"] ?? ""
        schemaVersion = userVersion
        tokenizer = m["tokenizer"] ?? ""
        tokenizerDescription = m["tokenizer_description"] ?? ""
        caseFold = m["case_fold"] == "1"
        unicodeVersion = m["unicode_version"] ?? ""
        maxOrder = Int(m["max_order"] ?? "") ?? 1
        minCount = UInt64(m["min_count"] ?? "") ?? 1
        docs = Int64(m["docs"] ?? "") ?? 0
        tokens = Int64(m["tokens"] ?? "") ?? 0
        createdAt = m["created_at"] ?? ""
        updatedAt = m["updated_at"] ?? ""
        countsExact = (m["counts_exact"] ?? "1") == "1"
        complete = m["complete"] == "1"
        mergedFrom = (m["merged_from"] ?? "").split(separator: "\n").map(String.init)
    }
}

extension IndexReader {
    /// The index's metadata, typed.
    public var metadata: IndexMetadata {
        get throws(StoreError) { IndexMetadata(meta: meta, userVersion: try schemaVersion()) }
    }
}
