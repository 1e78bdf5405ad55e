/// Pulls one string field (a dotted path such as `text` or `meta.body`) out of a JSON object
/// on one line, validating the whole line as JSON, without building a JSON tree.
///
/// Follows `json.loads` where it matters for counting: a duplicated key takes its last value;
/// escapes are decoded (`\uD83D\uDE00` pairs included); a lone surrogate escape becomes U+FFFD and
/// is counted. Raw control characters inside strings are accepted (strict parsers reject them).
/// - Complexity: O(line length), one pass; no allocation unless the value has escapes.
public struct JSONFieldExtractor {
    public enum Result {
        case text(UnsafeRawBufferPointer)
        case missing
        case notString(String)
    }

    public struct Failure: Error {
        public let offset: Int
        public let message: String
    }

    private let path: [[UInt8]]
    private var scratch: [UInt8] = []
    private var keyScratch: [UInt8] = []
    /// Lone surrogate escapes replaced by U+FFFD so far.
    public private(set) var loneSurrogates = 0

    public init(fieldPath: String) {
        path = fieldPath.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
    }

    // Parser state for one line.
    private var p: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 1)!
    private var n = 0
    private var i = 0
    private var found: (start: Int, end: Int, escaped: Bool)? = nil
    private var foundOther: String? = nil

    public mutating func extract(_ line: UnsafeRawBufferPointer) throws(Failure) -> Result {
        guard let base = line.baseAddress, line.count > 0 else {
            throw Failure(offset: 0, message: "empty line")
        }
        p = base.assumingMemoryBound(to: UInt8.self)
        n = line.count
        i = 0
        found = nil
        foundOther = nil
        skipWS()
        guard i < n, p[i] == UInt8(ascii: "{") else {
            if i < n { try parseValue(depth: 0) }  // report what is wrong if it is not JSON at all
            throw Failure(offset: i, message: "expected a JSON object")
        }
        try parseObject(depth: 0, pathLevel: 0)
        skipWS()
        if i < n { throw Failure(offset: i, message: "unexpected data after the JSON object") }
        if let f = found {
            if !f.escaped {
                return .text(UnsafeRawBufferPointer(start: p + f.start, count: f.end - f.start))
            }
            var out: [UInt8] = []
            swap(&out, &scratch)
            out.removeAll(keepingCapacity: true)
            unescape(from: f.start, to: f.end, into: &out)
            swap(&out, &scratch)
            return scratch.withUnsafeBytes { .text($0) }  // valid until the next call
        }
        if let other = foundOther { return other == "null" ? .missing : .notString(other) }
        return .missing
    }

    @inline(__always) private mutating func skipWS() {
        while i < n {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
        }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws(Failure) {
        skipWS()
        guard i < n, p[i] == c else {
            throw Failure(offset: i, message: i < n ? "expected \(what)" : "line ends inside a JSON value")
        }
        i += 1
    }

    /// `pathLevel` is the index in `path` that keys of this object are compared with, or -1.
    private mutating func parseObject(depth: Int, pathLevel: Int) throws(Failure) {
        if depth > 512 { throw Failure(offset: i, message: "JSON nested too deeply") }
        i += 1  // {
        skipWS()
        if i < n && p[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            skipWS()
            guard i < n, p[i] == UInt8(ascii: "\"") else {
                throw Failure(offset: i, message: i < n ? "expected a string key" : "line ends inside a JSON object")
            }
            let (ks, ke, kesc) = try scanString()
            try expect(UInt8(ascii: ":"), "':'")
            skipWS()
            var matched = false
            if pathLevel >= 0 {
                matched = keyEquals(ks, ke, kesc, path[pathLevel])
            }
            if matched && pathLevel == path.count - 1 {
                guard i < n else { throw Failure(offset: i, message: "line ends inside a JSON object") }
                if p[i] == UInt8(ascii: "\"") {
                    let (vs, ve, vesc) = try scanString()
                    found = (vs, ve, vesc)
                    foundOther = nil
                } else {
                    let kindStart = i
                    try parseValue(depth: depth + 1)
                    found = nil
                    foundOther = p[kindStart] == UInt8(ascii: "n") ? "null" : "is \(describe(kindStart)), not a string"
                }
            } else if matched, i < n, p[i] == UInt8(ascii: "{") {
                try parseObject(depth: depth + 1, pathLevel: pathLevel + 1)
            } else {
                if matched, i < n {
                    // An intermediate path element that is not an object.
                    found = nil
                    let prefix = path[0...pathLevel].map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
                    foundOther = "cannot be reached: \"\(prefix)\" is \(describe(i)), not an object"
                }
                try parseValue(depth: depth + 1)
            }
            skipWS()
            guard i < n else { throw Failure(offset: i, message: "line ends inside a JSON object") }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "}") { i += 1; return }
            throw Failure(offset: i, message: "expected ',' or '}'")
        }
    }

    private func describe(_ at: Int) -> String {
        switch p[at] {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "\""): return "a string"
        default: return "a number"
        }
    }

    private mutating func parseValue(depth: Int) throws(Failure) {
        if depth > 512 { throw Failure(offset: i, message: "JSON nested too deeply") }
        skipWS()
        guard i < n else { throw Failure(offset: i, message: "line ends inside a JSON value") }
        switch p[i] {
        case UInt8(ascii: "{"):
            try parseObject(depth: depth, pathLevel: -1)
        case UInt8(ascii: "["):
            i += 1
            skipWS()
            if i < n && p[i] == UInt8(ascii: "]") { i += 1; return }
            while true {
                try parseValue(depth: depth + 1)
                skipWS()
                guard i < n else { throw Failure(offset: i, message: "line ends inside a JSON array") }
                if p[i] == UInt8(ascii: ",") { i += 1; continue }
                if p[i] == UInt8(ascii: "]") { i += 1; return }
                throw Failure(offset: i, message: "expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
        default:
            throw Failure(offset: i, message: "unexpected character in JSON")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let len = word.utf8CodeUnitCount
        guard i + len <= n, memcmp(p + i, word.utf8Start, len) == 0 else {
            throw Failure(offset: i, message: "invalid literal")
        }
        i += len
    }

    private mutating func scanNumber() throws(Failure) {
        let s = i
        if p[i] == UInt8(ascii: "-") { i += 1 }
        func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        guard i < n, digit(p[i]) else { throw Failure(offset: s, message: "invalid number") }
        if p[i] == 0x30 { i += 1 } else { while i < n && digit(p[i]) { i += 1 } }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n, digit(p[i]) else { throw Failure(offset: s, message: "invalid number") }
            while i < n && digit(p[i]) { i += 1 }
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n, digit(p[i]) else { throw Failure(offset: s, message: "invalid number") }
            while i < n && digit(p[i]) { i += 1 }
        }
    }

    /// Scans a string starting at the opening quote; returns the content range and whether it
    /// contains escapes. Validates escapes.
    private mutating func scanString() throws(Failure) -> (Int, Int, Bool) {
        i += 1
        let s = i
        var escaped = false
        while true {
            i = nextQuoteOrBackslash(p, from: i, end: n)
            guard i < n else { throw Failure(offset: s - 1, message: "line ends inside a JSON string") }
            if p[i] == 0x22 {
                i += 1
                return (s, i - 1, escaped)
            }
            escaped = true
            guard i + 1 < n else { throw Failure(offset: i, message: "line ends inside a JSON string") }
            switch p[i + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                 UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                i += 2
            case UInt8(ascii: "u"):
                guard i + 6 <= n, hex4(i + 2) != nil else {
                    throw Failure(offset: i, message: "invalid \\u escape")
                }
                i += 6
            default:
                throw Failure(offset: i, message: "invalid escape in JSON string")
            }
        }
    }

    private func hex4(_ at: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[at + k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private func keyEquals(_ s: Int, _ e: Int, _ escaped: Bool, _ want: [UInt8]) -> Bool {
        if !escaped {
            return e - s == want.count && want.withUnsafeBytes { memcmp(p + s, $0.baseAddress!, want.count) == 0 }
        }
        var tmp: [UInt8] = []
        var me = self
        me.unescape(from: s, to: e, into: &tmp)
        return tmp == want
    }

    private mutating func unescape(from s: Int, to e: Int, into out: inout [UInt8]) {
        out.reserveCapacity(e - s)
        var k = s
        while k < e {
            if p[k] != 0x5C {
                // Copy the run up to the next backslash in one go.
                let r = memchr(p + k + 1, 0x5C, e - k - 1).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - p } ?? e
                out.append(contentsOf: UnsafeBufferPointer(start: p + k, count: r - k))
                k = r
                continue
            }
            let esc = p[k + 1]
            k += 2
            switch esc {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var cp = hex4(k)!
                k += 4
                if cp >= 0xD800 && cp <= 0xDBFF {
                    if k + 6 <= e, p[k] == 0x5C, p[k + 1] == UInt8(ascii: "u"), let lo = hex4(k + 2),
                       lo >= 0xDC00 && lo <= 0xDFFF {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        k += 6
                    } else {
                        cp = 0xFFFD
                        loneSurrogates += 1
                    }
                } else if cp >= 0xDC00 && cp <= 0xDFFF {
                    cp = 0xFFFD
                    loneSurrogates += 1
                }
                appendUTF8(cp, &out)
            default: out.append(esc)  // \" \\ \/
            }
        }
    }
}

@inline(__always) func appendUTF8(_ cp: UInt32, _ out: inout [UInt8]) {
    if cp < 0x80 {
        out.append(UInt8(cp))
    } else if cp < 0x800 {
        out.append(UInt8(0xC0 | (cp >> 6)))
        out.append(UInt8(0x80 | (cp & 0x3F)))
    } else if cp < 0x10000 {
        out.append(UInt8(0xE0 | (cp >> 12)))
        out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (cp & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (cp >> 18)))
        out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (cp & 0x3F)))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The first `"` or `\\` at or after `from` (or `end`): sixteen bytes at a time with SIMD
/// compares (pcmpeqb/pmovmskb on x86-64); within the block that has one, eight bytes at a time,
/// where `(y - 0x01..) & ~y & 0x80..` flags the lowest zero byte of y = x ^ c exactly.
@inlinable public func nextQuoteOrBackslash(_ p: UnsafePointer<UInt8>, from: Int, end n: Int) -> Int {
    let quote = SIMD16<UInt8>(repeating: 0x22), backslash = SIMD16<UInt8>(repeating: 0x5C)
    var i = from
    while i + 16 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt8>.self)
        if any((v .== quote) .| (v .== backslash)) { break }
        i += 16
    }
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    while i + 8 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        let q = v ^ 0x2222_2222_2222_2222, b = v ^ 0x5C5C_5C5C_5C5C_5C5C
        let z = ((q &- ones) & ~q | (b &- ones) & ~b) & highs
        if z != 0 { return i + z.trailingZeroBitCount >> 3 }
        i += 8
    }
    while i < n && p[i] != 0x22 && p[i] != 0x5C { i += 1 }
    return i
}
