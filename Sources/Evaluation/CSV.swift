/// RFC 4180 CSV: comma-separated fields, double-quoted fields may hold commas, newlines and
/// doubled quotes; CRLF or LF line ends. The first record is the header.
public struct CSVTable: Sendable {
    public let header: [String]
    /// Records with the 1-based line number each starts on.
    public let rows: [(line: Int, fields: [String])]
    /// Malformed records, in file order: a quote inside an unquoted field, text after a closing
    /// quote, a quote never closed, or a field count that differs from the header's. Each is
    /// left out of `rows`; parsing goes on at the line after the bad record's first line.
    public let errors: [CSVError]
}

public struct CSVError: Error, CustomStringConvertible, Sendable {
    public let line: Int
    public let message: String
    public init(line: Int, message: String) { self.line = line; self.message = message }
    public var description: String { message }
}

/// Parses a whole CSV file. Throws only when there is no usable header; a malformed record is
/// reported in `errors` (the caller stops or skips it) and does not hide the records after it.
/// - Complexity: O(bytes).
public func parseCSV(_ b: UnsafeRawBufferPointer) throws(CSVError) -> CSVTable {
    var records: [(Int, [String])] = []
    var errors: [CSVError] = []
    var pos = 0
    var line = 1
    while pos < b.count {
        let start = pos, startLine = line
        switch parseRecord(b, &pos, &line) {
        case .record(let fields):
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((startLine, fields)) }
        case .failure(let at, let message):
            errors.append(CSVError(line: at, message: message))
            // Resynchronise at the line after the bad record's first line, so one stray quote
            // costs one record, not the rest of the file.
            var p = start
            while p < b.count && b[p] != 0x0A { p += 1 }
            pos = p + 1
            line = startLine + 1
        }
    }
    guard let first = records.first else {
        throw errors.first ?? CSVError(line: 1, message: "no header row")
    }
    if let e = errors.first, e.line < first.0 {
        throw CSVError(line: e.line, message: "the header is malformed: \(e.message)")
    }
    var header = first.1
    if let h = header.first, h.hasPrefix("\u{FEFF}") { header[0] = String(h.dropFirst()) }
    var rows: [(line: Int, fields: [String])] = []
    for r in records.dropFirst() {
        if r.1.count != header.count {
            errors.append(CSVError(line: r.0, message: "\(r.1.count) fields where the header has \(header.count)"))
        } else {
            rows.append((line: r.0, fields: r.1))
        }
    }
    errors.sort { $0.line < $1.line }
    return CSVTable(header: header, rows: rows, errors: errors)
}

private enum RecordResult {
    case record([String])
    case failure(line: Int, message: String)
}

/// One record from `pos` to just after its line end (or the end of the input).
private func parseRecord(_ b: UnsafeRawBufferPointer, _ pos: inout Int, _ line: inout Int) -> RecordResult {
    var fields: [String] = []
    var field: [UInt8] = []
    while true {
        // One field.
        field.removeAll(keepingCapacity: true)
        if pos < b.count && b[pos] == UInt8(ascii: "\"") {
            let openLine = line
            pos += 1
            var closed = false
            while pos < b.count {
                let c = b[pos]
                if c == UInt8(ascii: "\"") {
                    if pos + 1 < b.count && b[pos + 1] == UInt8(ascii: "\"") { field.append(c); pos += 2; continue }
                    pos += 1
                    closed = true
                    break
                }
                if c == 0x0A { line += 1 }
                field.append(c)
                pos += 1
            }
            if !closed {
                return .failure(line: openLine, message: "a quoted field opened on line \(openLine) is never closed")
            }
            if pos < b.count, b[pos] != UInt8(ascii: ","), b[pos] != 0x0A,
               !(b[pos] == 0x0D && (pos + 1 == b.count || b[pos + 1] == 0x0A)) {
                return .failure(line: line, message: "text after the closing quote of a field")
            }
        } else {
            while pos < b.count {
                let c = b[pos]
                if c == UInt8(ascii: ",") || c == 0x0A { break }
                if c == 0x0D && (pos + 1 == b.count || b[pos + 1] == 0x0A) { break }
                if c == UInt8(ascii: "\"") { return .failure(line: line, message: "a quote inside an unquoted field") }
                field.append(c)
                pos += 1
            }
        }
        fields.append(String(decoding: field, as: UTF8.self))
        // What ends the field.
        if pos >= b.count { return .record(fields) }
        if b[pos] == UInt8(ascii: ",") { pos += 1; continue }
        if b[pos] == 0x0D { pos += 1 }
        if pos < b.count && b[pos] == 0x0A { pos += 1 }
        line += 1
        return .record(fields)
    }
}
