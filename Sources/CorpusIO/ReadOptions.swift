/// How a pass reads a corpus: one value for `index`, `cooccur`, `report --corpus` and `prune`
/// (the CLI's one option group fills it).
public struct ReadOptions: Sendable, Equatable {
    /// JSON field holding a document's text (a dotted path for nested fields).
    public var textField = "text"
    /// nil: JSONL when the name says so (`.jsonl`, `.json`, `.ndjson` before compression suffixes).
    public var jsonl: Bool? = nil
    /// Text inputs: a document per line, paragraph or file.
    public var docPer: TextSplit = .line
    public var onError: ErrorPolicy = .stop
    /// The longest accepted line or document.
    public var maxLineBytes = 64 << 20
    public init() {}

    /// How one file is read.
    public func format(of path: String) -> DocumentFormat {
        (jsonl ?? isJSONLName(path)) ? .jsonl(field: textField) : .text(docPer)
    }
}

/// `--format`: decided per file from its name, or JSON lines, or text.
public enum InputFormat: String, Sendable, CaseIterable {
    case auto, jsonl, text

    /// As `ReadOptions.jsonl`.
    public var jsonl: Bool? { self == .auto ? nil : self == .jsonl }
}
