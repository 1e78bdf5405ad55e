#if canImport(Glibc)
import Glibc
#endif

/// The compression container of a file, detected from its first bytes.
public enum Container: String, Sendable {
    case zstd, gzip, plain

    /// zstd frames start with 28 B5 2F FD, skippable frames with 5X 2A 4D 18; gzip with 1F 8B.
    public static func detect(_ head: [UInt8]) -> Container {
        if head.count >= 4 {
            if head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD { return .zstd }
            if head[0] & 0xF0 == 0x50 && head[1] == 0x2A && head[2] == 0x4D && head[3] == 0x18 { return .zstd }
        }
        if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B { return .gzip }
        return .plain
    }
}

/// How documents are laid out inside a (decompressed) file.
public enum DocumentFormat: Sendable, Equatable {
    /// One JSON object per line; the text is at a dotted field path.
    case jsonl(field: String)
    /// Plain text split into documents.
    case text(TextSplit)
}

/// How plain text is split into documents.
public enum TextSplit: String, Sendable, CaseIterable {
    /// Every non-empty line is a document.
    case line
    /// Runs of non-blank lines separated by blank lines are documents.
    case paragraph
    /// The whole file is one document.
    case file
}

/// Counts of what one input held and what was skipped, by kind.
public struct SourceCounters: Sendable, Equatable {
    public var docs: Int64 = 0
    public var lines: Int64 = 0
    public var blankLines: Int64 = 0
    public var bytesDecompressed: Int64 = 0
    /// Invalid UTF-8 sequences (and lone surrogate escapes) replaced by U+FFFD.
    public var replacedInvalidUTF8: Int64 = 0
    public var skipped: [InputError.Kind: Int64] = [:]
    /// True when the rest of the file was skipped after a decompression error.
    public var incomplete = false

    public init() {}

    public mutating func add(_ o: SourceCounters) {
        docs += o.docs
        lines += o.lines
        blankLines += o.blankLines
        bytesDecompressed += o.bytesDecompressed
        replacedInvalidUTF8 += o.replacedInvalidUTF8
        for (k, v) in o.skipped { skipped[k, default: 0] += v }
        incomplete = incomplete || o.incomplete
    }
}

/// Opens a file as a decompressed byte stream, choosing the decoder from its magic bytes.
public func openDecompressed(path: String) throws(InputError) -> (ByteSource, Container) {
    let file = try FileSource(path: path)
    let container = Container.detect(file.peek(4))
    switch container {
    case .zstd: return (try ZstdSource(file: file), container)
    case .gzip: return (try GzipSource(file: file), container)
    case .plain: return (file, container)
    }
}

/// Guesses the document format from the file name once compression suffixes are removed:
/// `.jsonl`, `.json`, `.ndjson` are JSONL; anything else is text.
public func isJSONLName(_ path: String) -> Bool {
    var name = Substring(path.split(separator: "/").last ?? "")
    for suffix in [".zst", ".zstd", ".gz", ".gzip"] where name.hasSuffix(suffix) {
        name = name.dropLast(suffix.count)
    }
    return name.hasSuffix(".jsonl") || name.hasSuffix(".json") || name.hasSuffix(".ndjson")
}

/// Reads one file and hands each document's text (raw UTF-8 bytes, not yet validated) to a
/// callback, applying the error policy. Bad lines are reported with file name, line number and
/// byte offset; with `.skip` they are counted in `counters.skipped` and reading goes on.
public final class DocumentReader {
    public let path: String
    public let format: DocumentFormat
    public let policy: ErrorPolicy
    public private(set) var counters = SourceCounters()
    private let lines: LineReader
    public let container: Container
    private let source: ByteSource

    public init(path: String, format: DocumentFormat, policy: ErrorPolicy,
                maxLineBytes: Int = 64 << 20) throws(InputError) {
        self.path = path
        self.format = format
        self.policy = policy
        do {
            let (src, c) = try openDecompressed(path: path)
            source = src
            container = c
        } catch {
            // Under `.skip` a file that cannot be opened is counted and yields no documents.
            guard policy == .skip, error.kind == .unreadable else { throw error }
            source = EmptySource()
            container = .plain
            openError = error
            counters.skipped[.unreadable] = 1
            counters.incomplete = true
        }
        lines = LineReader(source: source, maxLineBytes: maxLineBytes)
    }

    /// Why the file could not be opened, when `.skip` let it through with no documents.
    public private(set) var openError: InputError?

    /// Bytes of the underlying (compressed) file consumed so far.
    public var fileOffset: Int64 { source.fileOffset }

    /// Decompressed bytes handed out so far.
    public var bytesRead: Int64 { lines.bytesRead }

    private func fail(_ e: InputError) throws(InputError) {
        if policy == .stop { throw e }
        counters.skipped[e.kind, default: 0] += 1
    }

    /// Calls `body` once per document, in file order. Each buffer is valid only during the call.
    public func forEachDocument(_ body: (UnsafeRawBufferPointer) -> Void) throws(InputError) {
        try forEachRecord { text, _ in body(text) }
    }

    /// The first line (1-based) and decompressed byte offset of the document being handed out;
    /// valid during a `forEachRecord` call.
    public private(set) var recordLine = 0
    public private(set) var recordOffset: Int64 = 0

    /// Calls `body` once per document with its text and its record as it appears in the file: for
    /// JSONL the whole line (every field), for text the document's lines. `recordLine` and
    /// `recordOffset` say where it starts. Buffers are valid only during the call.
    public func forEachRecord(_ body: (_ text: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer) -> Void) throws(InputError) {
        if openError != nil { return }
        do {
            try readAll(body)
        } catch let e {
            // A broken compressed stream: with `.skip`, keep what was read and mark the file incomplete.
            guard policy == .skip, e.kind == .truncated || e.kind == .corrupt || e.kind == .unreadable else {
                throw e
            }
            counters.skipped[e.kind, default: 0] += 1
            counters.incomplete = true
        }
        counters.bytesDecompressed = lines.bytesRead
    }

    private func readAll(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) throws(InputError) {
        var paragraph: [UInt8] = []
        var paragraphHasText = false
        var json: JSONFieldExtractor? = nil
        if case .jsonl(let field) = format { json = JSONFieldExtractor(fieldPath: field) }
        var sawNonBlank = false

        func flushParagraph() {
            if paragraphHasText {
                paragraph.withUnsafeBytes { body($0, $0) }
                counters.docs += 1
            }
            paragraph.removeAll(keepingCapacity: true)
            paragraphHasText = false
        }

        loop: while true {
            let item = try lines.next()
            switch item {
            case .end:
                break loop
            case .tooLong(let length):
                counters.lines += 1
                sawNonBlank = true
                try fail(InputError(.lineTooLong, path: path, line: lines.lineNumber, offset: lines.lineOffset,
                                    "line of \(length) bytes is over the limit of \(lines.maxLineBytes) bytes"))
            case .line(var raw):
                counters.lines += 1
                // A UTF-8 byte-order mark at the start of the file is not text.
                if lines.lineNumber == 1, raw.count >= 3, raw[0] == 0xEF, raw[1] == 0xBB, raw[2] == 0xBF {
                    raw = UnsafeRawBufferPointer(rebasing: raw[3...])
                }
                let blank = isBlank(raw)
                if !blank { sawNonBlank = true }
                switch format {
                case .jsonl:
                    if blank { counters.blankLines += 1; continue }
                    let result: JSONFieldExtractor.Result
                    do {
                        result = try json!.extract(raw)
                    } catch {
                        try fail(InputError(.invalidJSON, path: path, line: lines.lineNumber,
                                            offset: lines.lineOffset + Int64(error.offset),
                                            "\(error.message) at column \(error.offset + 1)"))
                        continue
                    }
                    guard case .jsonl(let field) = format else { continue }
                    switch result {
                    case .text(let t):
                        recordLine = lines.lineNumber
                        recordOffset = lines.lineOffset
                        body(t, raw)
                        counters.docs += 1
                    case .missing:
                        try fail(InputError(.missingField, path: path, line: lines.lineNumber,
                                            offset: lines.lineOffset, "no string field \"\(field)\""))
                    case .notString(let what):
                        try fail(InputError(.fieldNotString, path: path, line: lines.lineNumber,
                                            offset: lines.lineOffset, "field \"\(field)\" \(what)"))
                    }
                case .text(.line):
                    if blank { counters.blankLines += 1; continue }
                    recordLine = lines.lineNumber
                    recordOffset = lines.lineOffset
                    body(raw, raw)
                    counters.docs += 1
                case .text(.paragraph):
                    if blank {
                        counters.blankLines += 1
                        flushParagraph()
                        continue
                    }
                    if !paragraph.isEmpty { paragraph.append(0x0A) } else {
                        recordLine = lines.lineNumber
                        recordOffset = lines.lineOffset
                    }
                    paragraph.append(contentsOf: raw)
                    paragraphHasText = true
                    if paragraph.count > lines.maxLineBytes {
                        try fail(InputError(.lineTooLong, path: path, line: lines.lineNumber, offset: lines.lineOffset,
                                            "paragraph over the limit of \(lines.maxLineBytes) bytes"))
                        paragraph.removeAll(keepingCapacity: true)
                        paragraphHasText = false
                    }
                case .text(.file):
                    recordLine = 1
                    recordOffset = 0
                    if blank { counters.blankLines += 1 }
                    if !paragraph.isEmpty || counters.lines > 1 { paragraph.append(0x0A) }
                    paragraph.append(contentsOf: raw)
                    if !blank { paragraphHasText = true }
                    if paragraph.count > lines.maxLineBytes {
                        try fail(InputError(.lineTooLong, path: path, line: lines.lineNumber, offset: lines.lineOffset,
                                            "file document over the limit of \(lines.maxLineBytes) bytes"))
                        paragraph.removeAll(keepingCapacity: true)
                        paragraphHasText = false
                    }
                }
            }
        }
        if case .text(let split) = format, split != .line { flushParagraph() }
        if let j = json { counters.replacedInvalidUTF8 += Int64(j.loneSurrogates) }
        if !sawNonBlank {
            try fail(InputError(.emptyFile, path: path, offset: 0,
                                lines.bytesRead == 0 ? "the file is empty" : "the file holds only blank lines"))
        }
    }

    @inline(__always) private func isBlank(_ b: UnsafeRawBufferPointer) -> Bool {
        for c in b where !(c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C) { return false }
        return true
    }
}

/// A stream with no bytes: what an unreadable file skipped under `--on-error skip` reads as.
final class EmptySource: ByteSource {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int { 0 }
    var fileOffset: Int64 { 0 }
}
