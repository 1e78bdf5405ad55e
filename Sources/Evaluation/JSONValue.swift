import CorpusIO

/// A parsed JSON value. Eval files are small (megabytes), so rows are parsed into trees; the
/// corpus path keeps using the streaming field extractor of CorpusIO.
public indirect enum JSONValue: Sendable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double, text: String)
    case bool(Bool)
    case null

    /// The value at a dotted path (`doc.question`); nil when any step is missing.
    public func at(path: String) -> JSONValue? {
        // Most paths are one key: no split.
        if !path.utf8.contains(UInt8(ascii: ".")) {
            guard case .object(let o) = self else { return nil }
            return o[path]
        }
        var cur = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard case .object(let o) = cur, let next = o[String(part)] else { return nil }
            cur = next
        }
        return cur
    }

    /// Strings as themselves; numbers as written; booleans as true/false.
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .number(_, let t): return t
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var p = JSONParser(b: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.error("unexpected text after the value") }
        return v
    }

    public static func parse(_ s: String) throws -> JSONValue {
        let bytes = Array(s.utf8)
        return try bytes.withUnsafeBytes { try parse($0) }
    }
}

public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public let offset: Int
    public let message: String
    public var description: String { "\(message) at column \(offset + 1)" }
}

struct JSONParser {
    let b: UnsafeRawBufferPointer
    var i = 0

    func error(_ m: String) -> JSONParseError { JSONParseError(offset: i, message: m) }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue { try element(depth: depth, build: true)! }

    /// One value; with `build` false the text is checked the same way, step for step, but no tree
    /// is made (nil): the lazy reader steps over the fields a row does not read.
    mutating func element(depth: Int, build: Bool) throws(JSONParseError) -> JSONValue? {
        guard depth < 512 else { throw error("nesting deeper than 512") }
        guard i < b.count else { throw error("unexpected end of line") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var o: [String: JSONValue] = [:]
            skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "}") { i += 1; return build ? .object(o) : nil }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let k = try string(build: build)
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipSpace()
                let v = try element(depth: depth + 1, build: build)
                if build { o[k!] = v! }
                skipSpace()
                guard i < b.count else { throw error("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return build ? .object(o) : nil }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var a: [JSONValue] = []
            skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "]") { i += 1; return build ? .array(a) : nil }
            while true {
                skipSpace()
                let v = try element(depth: depth + 1, build: build)
                if build { a.append(v!) }
                skipSpace()
                guard i < b.count else { throw error("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return build ? .array(a) : nil }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return try string(build: build).map(JSONValue.string)
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .number(.nan, text: "NaN")
        default:
            return try number()
        }
    }

    mutating func literal(_ s: StaticString) throws(JSONParseError) {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { throw error("invalid literal") }
        for k in 0..<n where b[i + k] != s.utf8Start[k] { throw error("invalid literal") }
        i += n
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = i
        if i < b.count && b[i] == UInt8(ascii: "-") { i += 1 }
        while i < b.count, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e")
                || b[i] == UInt8(ascii: "E") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        guard i > start, let d = Double(text) else { i = start; throw error("invalid value") }
        return .number(d, text: text)
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 <= b.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    /// A string; invalid UTF-8 and lone surrogates become U+FFFD.
    mutating func string() throws(JSONParseError) -> String { try string(build: true)! }

    /// A string, or with `build` false nil, its escapes checked all the same.
    mutating func string(build: Bool) throws(JSONParseError) -> String? {
        i += 1
        let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // Most strings have no escape: they are decoded straight from the line's bytes.
        let j = nextQuoteOrBackslash(base, from: i, end: b.count)
        if j < b.count && b[j] == UInt8(ascii: "\"") {
            let s = build ? String(decoding: UnsafeRawBufferPointer(rebasing: b[i..<j]), as: UTF8.self) : nil
            i = j + 1
            return s
        }
        var out: [UInt8] = []
        var runStart = i
        while true {
            i = nextQuoteOrBackslash(base, from: i, end: b.count)
            guard i < b.count else { throw error("unterminated string") }
            if b[i] == UInt8(ascii: "\"") { break }
            if build { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[runStart..<i])) }
            i += 1
            guard i < b.count else { throw error("unterminated escape") }
            let e = b[i]
            i += 1
            let unescaped: UInt8
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped = e
            case UInt8(ascii: "b"): unescaped = 0x08
            case UInt8(ascii: "f"): unescaped = 0x0C
            case UInt8(ascii: "n"): unescaped = 0x0A
            case UInt8(ascii: "r"): unescaped = 0x0D
            case UInt8(ascii: "t"): unescaped = 0x09
            case UInt8(ascii: "u"):
                var cp = try hex4()
                if cp >= 0xD800 && cp < 0xDC00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let lo = try hex4()
                    if lo >= 0xDC00 && lo < 0xE000 { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00) } else { i = save }
                }
                if build { out.append(contentsOf: Array(String(Character(Unicode.Scalar(cp) ?? "\u{FFFD}")).utf8)) }
                runStart = i
                continue
            default: throw error("invalid escape")
            }
            if build { out.append(unescaped) }
            runStart = i
        }
        if build { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[runStart..<i])) }
        i += 1
        return build ? String(decoding: out, as: UTF8.self) : nil
    }
}

/// One JSON object (a line of a JSON Lines eval file) whose values are checked but parsed into
/// trees only when read: a row reads a few fields of lines that may hold many (model outputs,
/// prompts, log-probabilities).
///
/// It accepts no text that `JSONValue.parse` rejects: its values are checked by the parser itself
/// (`element(depth:build:)` without building), and any text it does not accept (`init` returns
/// nil) is for the parser to parse or reject with its message. Reading a field parses that field's bytes with the parser,
/// so every value read is the one the parser's tree holds, the last of repeated keys included.
struct LazyJSONObject {
    /// The object's text; it must outlive the object.
    let bytes: UnsafeRawBufferPointer
    /// Each field's key and its value's bytes, in order.
    private(set) var fields: [(key: String, start: Int, end: Int)] = []

    init?(_ b: UnsafeRawBufferPointer) {
        bytes = b
        var p = JSONParser(b: b)
        p.skipSpace()
        guard p.i < b.count, b[p.i] == UInt8(ascii: "{") else { return nil }
        p.i += 1
        p.skipSpace()
        if p.i < b.count && b[p.i] == UInt8(ascii: "}") {
            p.i += 1
        } else {
            while true {
                p.skipSpace()
                guard p.i < b.count, b[p.i] == UInt8(ascii: "\""), let k = try? p.string() else { return nil }
                p.skipSpace()
                guard p.i < b.count, b[p.i] == UInt8(ascii: ":") else { return nil }
                p.i += 1
                p.skipSpace()
                let start = p.i
                do { _ = try p.element(depth: 1, build: false) } catch { return nil }
                fields.append((k, start, p.i))
                p.skipSpace()
                guard p.i < b.count else { return nil }
                if b[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
                if b[p.i] == UInt8(ascii: "}") { p.i += 1; break }
                return nil
            }
        }
        p.skipSpace()
        guard p.i == b.count else { return nil }
    }

    /// The value of `key` (the last field with it, as in the parser's tree); nil when none has it.
    func value(_ key: String) -> JSONValue? {
        guard let f = fields.last(where: { $0.key == key }) else { return nil }
        // Checked when the object was made: it parses.
        return try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[f.start..<f.end]))
    }

    /// `JSONValue.at(path:)` of the whole object.
    func at(path: String) -> JSONValue? {
        guard let dot = path.utf8.firstIndex(of: UInt8(ascii: ".")) else { return value(path) }
        guard let first = value(String(path[..<dot])) else { return nil }
        return first.at(path: String(path[path.index(after: dot)...]))
    }

    /// The whole object as the parser makes it.
    var tree: JSONValue {
        var o: [String: JSONValue] = [:]
        for f in fields { o[f.key] = try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[f.start..<f.end])) }
        return .object(o)
    }
}
