/// RFC 4180 CSV: comma-separated fields, double-quoted fields may hold commas, newlines and
/// doubled quotes; CRLF or LF line ends. The first record is the header.
public struct CSVTable: Sendable {
    public let header: [String]
    /// Records with the 1-based line number each starts on.
    public let rows: [(line: Int, fields: [String])]
}

public struct CSVError: Error, CustomStringConvertible, Sendable {
    public let line: Int
    public let message: String
    public var description: String { message }
}

public func parseCSV(_ b: UnsafeRawBufferPointer) throws(CSVError) -> CSVTable {
    var records: [(Int, [String])] = []
    var fields: [String] = []
    var field: [UInt8] = []
    var line = 1, recordLine = 1
    var i = 0
    var quoted = false, wasQuoted = false
    func endField() { fields.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true); wasQuoted = false }
    while i < b.count {
        let c = b[i]
        if quoted {
            if c == UInt8(ascii: "\"") {
                if i + 1 < b.count && b[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 2; continue }
                quoted = false; i += 1; continue
            }
            if c == 0x0A { line += 1 }
            field.append(c); i += 1; continue
        }
        switch c {
        case UInt8(ascii: "\""):
            guard field.isEmpty && !wasQuoted else { throw CSVError(line: line, message: "a quote inside an unquoted field") }
            quoted = true; wasQuoted = true
        case UInt8(ascii: ","):
            endField()
        case 0x0D where i + 1 < b.count && b[i + 1] == 0x0A:
            break
        case 0x0A:
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields.removeAll()
            line += 1; recordLine = line
        default:
            field.append(c)
        }
        i += 1
    }
    if quoted { throw CSVError(line: recordLine, message: "a quoted field is not closed before the end of the file") }
    if !field.isEmpty || !fields.isEmpty || wasQuoted {
        endField()
        records.append((recordLine, fields))
    }
    guard let first = records.first else { throw CSVError(line: 1, message: "no header row") }
    var header = first.1
    if let h = header.first, h.hasPrefix("\u{FEFF}") { header[0] = String(h.dropFirst()) }
    let rows = records.dropFirst().map { (line: $0.0, fields: $0.1) }
    for r in rows where r.fields.count != header.count {
        throw CSVError(line: r.line, message: "\(r.fields.count) fields where the header has \(header.count)")
    }
    return CSVTable(header: header, rows: Array(rows))
}
