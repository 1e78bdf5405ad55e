import Support
/// What can go wrong with one input, with enough context to find the spot.
public struct InputError: Error, CustomStringConvertible, Sendable {
    /// The kind of problem. Each kind is counted separately when `--on-error skip` is in force.
    public enum Kind: String, Sendable, CaseIterable {
        case unreadable = "unreadable"          // cannot open or read the file
        case truncated = "truncated"            // compressed stream ends inside a frame/member
        case corrupt = "corrupt"                // compressed data that does not decode
        case emptyFile = "empty_file"           // zero bytes, or nothing but whitespace
        case invalidJSON = "invalid_json"       // a line that is not one JSON value
        case missingField = "missing_field"     // the text field is absent or null
        case fieldNotString = "field_not_string" // the text field holds a number, object, ...
        case lineTooLong = "line_too_long"      // a line or document over the size limit
    }

    public let kind: Kind
    public let path: String
    /// 1-based line number in the decompressed stream, when known.
    public let line: Int?
    /// Byte offset: in the decompressed stream for line errors, in the compressed file for
    /// decompression errors.
    public let offset: Int64?
    public let detail: String

    public init(_ kind: Kind, path: String, line: Int? = nil, offset: Int64? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        var s = path
        if let line { s += ":\(line)" }
        if let offset { s += " (byte \(offset))" }
        return s + ": \(kind.rawValue): \(detail)"
    }
}

/// What to do when an input is bad.
public enum ErrorPolicy: String, Sendable, CaseIterable {
    /// Stop at the first bad input with its file, line and offset.
    case stop
    /// Skip the bad line (or the rest of a broken file), count it by kind, and go on.
    case skip
}

extension InputError: ExitCoded {
    public var exitStatus: ExitStatus { kind == .unreadable ? .noInput : .dataError }
}
