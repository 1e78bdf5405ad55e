import CorpusIO
import Support
#if canImport(Glibc)
import Glibc
#endif

/// Which fields of an eval file hold what. Unset fields take defaults per format: JSONL and CSV
/// use `question`, `answer`, `correct`; lm-evaluation-harness `samples_*.jsonl` files take the
/// question from `doc`, the answer from `target` (mapped through `doc.choices` when it is an
/// index), and correctness from the `acc`, `exact_match` or `acc_norm` metric.
public struct EvalFields: Sendable {
    public var question: String?
    public var answer: String?
    public var correct: String?
    public var id: String?
    public var groupBy: [String] = []
    /// Fields named by `--terms field:NAME`.
    public var termFields: [String] = []
    public var needAnswer = false
    public var needCorrect = true
    /// Without `needCorrect`: still read correctness from rows that have the field.
    public var correctIfPresent = false
    /// False for a reader that never pairs rows across files (`cooccur`): rows get an empty `id`
    /// and `key` unless `id` names their field (still required then).
    public var needKey = true
    /// Wide files (one row per question, one object per model run): the fields that are runs, or
    /// `["*"]` for every field whose value is an object holding the correctness field. Each run
    /// becomes a row: the question's fields, the run object's fields, and `run` (the key).
    public var runs: [String]? = nil
    /// A regular expression with named groups matched against each run key; every named group
    /// becomes a field (`(?<model>[^_]+)_(?<method>.+)` splits `6b_finetuning`).
    public var runPattern: String? = nil
    /// Further scalar fields kept per row (the model, its size, covariates).
    public var extra: [String] = []
    /// lm-eval files with several filters (gsm8k's strict-match and flexible-extract): the one
    /// whose rows are read; nil: the first in each file.
    public var filter: String? = nil

    public init() {}
}

public enum EvalFormat: String, Sendable {
    case jsonl, csv, lmEvalSamples = "lm-eval-samples"
}

/// One question with its outcome.
public struct EvalRow: Sendable {
    public let file: String
    public let line: Int
    public let id: String
    /// What identifies the question across files and models: the `--id-field` value, an
    /// lm-eval sample's task and doc_id, or else the question text lowercased with runs of
    /// white space collapsed. Rows with the same key are the same question (paired).
    public let key: String
    public let question: String
    /// The gold answer and its aliases (empty when the file has none).
    public let answers: [String]
    /// 1/0 for correct/incorrect, or a score in [0, 1]; nil when the file has no correctness.
    public let correct: Double?
    /// Values of the `--group-by` fields, in order.
    public let group: [String]
    /// Values of the `field:NAME` term fields.
    public let termFields: [String: JSONValue]
    /// Values of the `extra` fields, as text.
    public let extra: [String: String]
}

/// The question text as a pairing key: lowercased, white space runs collapsed, trimmed.
public func normalizedQuestionKey(_ q: String) -> String {
    // ASCII text (most questions) on its bytes, written straight into the result: the same
    // result, without a scalar view.
    var q = q
    let ascii = q.withUTF8 { b -> String? in
        var allASCII = true
        let s = String(unsafeUninitializedCapacity: b.count) { out in
            var n = 0
            var pendingSpace = false
            for c in b {
                if c >= 0x80 { allASCII = false; return 0 }
                if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                    pendingSpace = n > 0
                } else {
                    if pendingSpace { out[n] = 0x20; n &+= 1; pendingSpace = false }
                    out[n] = c >= 0x41 && c <= 0x5A ? c + 0x20 : c
                    n &+= 1
                }
            }
            return n
        }
        return allASCII ? s : nil
    }
    if let ascii { return ascii }
    var out = String.UnicodeScalarView()
    var pendingSpace = false
    for c in q.lowercased().unicodeScalars {
        if c == " " || c == "\t" || c == "\n" || c == "\r" {
            pendingSpace = !out.isEmpty
        } else {
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(c)
        }
    }
    return String(out)
}

public struct EvalError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case unreadable, truncated, corrupt
        case emptyFile = "empty_file"
        case invalidJSON = "invalid_json"
        case invalidCSV = "invalid_csv"
        case missingField = "missing_field"
        case badValue = "bad_value"
    }
    public let kind: Kind
    public let path: String
    public let line: Int?
    public let detail: String

    public init(_ kind: Kind, path: String, line: Int? = nil, _ detail: String) {
        self.kind = kind; self.path = path; self.line = line; self.detail = detail
    }

    public var description: String {
        let at = line.map { "\(path):\($0)" } ?? path
        return "\(at): \(kind.rawValue): \(detail)"
    }
}

/// What reading the eval files did.
public struct EvalReadReport: Sendable {
    public var files: [(path: String, format: EvalFormat, rows: Int)] = []
    public var skipped: [EvalError.Kind: Int] = [:]
    /// lm-eval files that logged several filters: which one was read.
    public var filters: [FilterChoice] = []
    /// lm-eval files whose model came from the `results_*.json` beside them.
    public var models: [String: String] = [:]
    /// The first few skipped rows, for the message.
    public var examples: [String] = []
    public var rows: Int { files.reduce(0) { $0 + $1.rows } }

    /// Throws the error under `--on-error stop`; counts it under `skip`.
    mutating func skip(_ e: EvalError, _ policy: ErrorPolicy) throws {
        guard policy == .skip else { throw e }
        skipped[e.kind, default: 0] += 1
        if examples.count < 5 { examples.append(e.description) }
    }
}

/// The whole decompressed content of a (possibly .zst/.gz) file.
public func readAllBytes(path: String) throws -> [UInt8] {
    let src: ByteSource
    do { (src, _) = try openDecompressed(path: path) } catch {
        throw EvalError(mapKind(error.kind), path: path, error.detail)
    }
    var out: [UInt8] = []
    // The file's size (a compressed file's grows from there): no copying while it grows.
    out.reserveCapacity(Int(fileSize(path) ?? 0) + 1)
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n: Int
        do {
            n = try buf.withUnsafeMutableBytes { try src.read(into: $0) }
        } catch let error as InputError {
            throw EvalError(mapKind(error.kind), path: path, error.detail)
        } catch {
            throw EvalError(.unreadable, path: path, "\(error)")
        }
        if n == 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}

func mapKind(_ k: InputError.Kind) -> EvalError.Kind {
    switch k {
    case .truncated: return .truncated
    case .corrupt: return .corrupt
    case .emptyFile: return .emptyFile
    default: return .unreadable
    }
}

func baseName(_ path: String) -> String {
    // The last non-empty component (as `split(separator: "/").last`), without splitting: this
    // runs once per row.
    let u = path.utf8
    var end = u.endIndex
    while end > u.startIndex && u[u.index(before: end)] == UInt8(ascii: "/") { end = u.index(before: end) }
    if end == u.startIndex { return path }
    var start = end
    while start > u.startIndex && u[u.index(before: start)] != UInt8(ascii: "/") { start = u.index(before: start) }
    return String(path[start..<end])
}

/// lm-evaluation-harness writes `samples_<task>_<timestamp>.jsonl`; the task is the group.
func lmEvalTask(fileName: String) -> String {
    var name = fileName
    for ext in [".zst", ".gz", ".jsonl"] where name.hasSuffix(ext) { name = String(name.dropLast(ext.count)) }
    if name.hasPrefix("samples_") { name = String(name.dropFirst(8)) }
    // Drop a trailing _YYYY-MM-DDT... timestamp.
    var parts = name.split(separator: "_", omittingEmptySubsequences: false)
    if parts.count > 1, let last = parts.last, last.count > 5,
       last.prefix(4).allSatisfy({ $0.isASCII && $0.isNumber }), last.dropFirst(4).first == "-" {
        parts.removeLast()
        name = parts.joined(separator: "_")
    }
    return name
}

/// Reads eval rows from JSONL, CSV and lm-evaluation-harness sample files.
public func readEvalFiles(_ paths: [String], fields: EvalFields, onError: ErrorPolicy) throws -> ([EvalRow], EvalReadReport) {
    var rows: [EvalRow] = []
    var report = EvalReadReport()
    for path in paths {
        let bytes = try readAllBytes(path: path)
        let name = baseName(path)
        var stem = name.lowercased()
        for ext in [".zst", ".gz"] where stem.hasSuffix(ext) { stem = String(stem.dropLast(ext.count)) }
        var records: [(line: Int, value: JSONValue)] = []
        var format: EvalFormat = stem.hasSuffix(".csv") ? .csv : .jsonl

        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            try report.skip(EvalError(.emptyFile, path: path, "the file holds no rows"), onError)
            report.files.append((path, format, 0))
            continue
        }
        if format == .csv {
            let table: CSVTable
            do {
                table = try bytes.withUnsafeBytes { try parseCSV($0) }
            } catch let error as CSVError {
                throw EvalError(.invalidCSV, path: path, line: error.line, error.message)
            } catch {
                throw EvalError(.invalidCSV, path: path, "\(error)")
            }
            // Malformed records stop the run or, with --on-error skip, are counted like bad JSON lines.
            for e in table.errors {
                try report.skip(EvalError(.invalidCSV, path: path, line: e.line, e.message), onError)
            }
            for r in table.rows {
                var o: [String: JSONValue] = [:]
                for (k, v) in zip(table.header, r.fields) {
                    // A cell holding a JSON list (aliases, entity lists) is read as one.
                    if v.hasPrefix("["), let parsed = try? JSONValue.parse(v) { o[k] = parsed } else { o[k] = .string(v) }
                }
                records.append((r.line, .object(o)))
            }
        } else if bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF }) == UInt8(ascii: "[") {
            // One JSON array per file (lm-evaluation-harness 0.4.0-0.4.2): element k is "line" k.
            var start = 0
            if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
            let v: JSONValue
            do {
                v = try bytes.withUnsafeBytes { try JSONValue.parse(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            } catch let error as JSONParseError {
                throw EvalError(.invalidJSON, path: path, "the file is a JSON array that does not parse: \(error.description)")
            }
            guard case .array(let items) = v else { throw EvalError(.invalidJSON, path: path, "expected a JSON array") }
            for (k, item) in items.enumerated() {
                guard case .object = item else {
                    try report.skip(EvalError(.invalidJSON, path: path, line: k + 1, "array element \(k + 1) is not a JSON object"), onError)
                    continue
                }
                records.append((k + 1, item))
            }
            if isLMEvalSamples(name: name, firstObject: records.first?.value) { format = .lmEvalSamples }
        } else {
            // Lines are found in one sweep, parsed on several threads, and their results taken in
            // line order (the same rows, skips and first error as one thread).
            let lines = jsonLines(bytes)
            // A plain JSON Lines file (not lm-eval samples, no --runs) is parsed and made into rows
            // in one step per line, so each line's tree is freed on the thread that parsed it.
            if fields.runs == nil && !name.hasPrefix("samples_"), let fused = try readPlainJSONLines(bytes, lines, path: path, fields: fields, report: &report, onError: onError) {
                rows += fused
                report.files.append((path, .jsonl, fused.count))
                continue
            }
            let parsed = bytes.withUnsafeBytes { all in parallelMap(lines.count) { parseLine(all, lines[$0]) } }
            for (k, result) in parsed.enumerated() {
                if let e = lineError(result, path: path, line: lines[k].no) { try report.skip(e, onError); continue }
                if case .success(let v) = result { records.append((lines[k].no, v)) }
            }
            if isLMEvalSamples(name: name, firstObject: records.first?.value) { format = .lmEvalSamples }
        }
        var fileModel: String? = nil
        if format == .lmEvalSamples {
            // Several filters: one row per doc and filter; keep the chosen filter's rows.
            var available: [String] = []
            for r in records { if let f = r.value.at(path: "filter")?.scalarText, !available.contains(f) { available.append(f) } }
            if available.count > 1 || (fields.filter != nil && !available.isEmpty) {
                let chosen = fields.filter ?? available[0]
                guard available.contains(chosen) else {
                    throw EvalError(.badValue, path: path, "--filter \(chosen): the file's filters are \(available.joined(separator: ", "))")
                }
                let before = records.count
                records = records.filter { $0.value.at(path: "filter")?.scalarText == chosen }
                report.filters.append(FilterChoice(path: path, chosen: chosen, available: available, dropped: before - records.count))
            }
            let wantsModel = (fields.groupBy + fields.extra).contains("model") && records.contains { $0.value.at(path: "model") == nil }
            if wantsModel, let m = lmEvalModel(samplesPath: path) {
                fileModel = m
                report.models[path] = m
            }
        }
        if let runs = fields.runs {
            records = try expandRuns(records, runs: runs, pattern: fields.runPattern, fields: fields, path: path, report: &report, onError: onError)
        }
        var count = 0
        let task = lmEvalTask(fileName: name)
        let made = parallelMap(records.count) { k -> Result<EvalRow, EvalError> in
            Result { () throws(EvalError) -> EvalRow in try makeRow(.tree(records[k].value), file: path, line: records[k].line, format: format, task: task, model: fileModel, fields: fields) }
        }
        for result in made {
            do {
                rows.append(try result.get())
                count += 1
            } catch {
                try report.skip(error, onError)
            }
        }
        report.files.append((path, format, count))
    }
    return (rows, report)
}

/// The lines of a JSON Lines file that hold more than spaces and tabs: number (from 1) and byte
/// range, without the line's CR and the file's byte order mark.
func jsonLines(_ bytes: [UInt8]) -> [(no: Int, s: Int, e: Int)] {
    var lines: [(no: Int, s: Int, e: Int)] = []
    bytes.withUnsafeBufferPointer { b in
        guard let base = b.baseAddress else { return }
        var lineNo = 0
        var start = 0
        while start < b.count {
            let end = memchr(base + start, 0x0A, b.count - start).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - base } ?? b.count
            lineNo += 1
            var e = end
            if e > start && b[e - 1] == 0x0D { e -= 1 }
            var s = start
            if lineNo == 1 && e - s >= 3 && b[s] == 0xEF && b[s + 1] == 0xBB && b[s + 2] == 0xBF { s += 3 }
            var blank = true
            for i in s..<max(s, e) where b[i] != 0x20 && b[i] != 0x09 { blank = false; break }
            if !blank { lines.append((lineNo, s, e)) }
            start = end + 1
        }
    }
    return lines
}

/// lm-evaluation-harness samples: a file named `samples_*`, or one whose first object has `doc`
/// and `doc_id`.
func isLMEvalSamples(name: String, firstObject: JSONValue?) -> Bool {
    if name.hasPrefix("samples_") { return true }
    guard let v = firstObject else { return false }
    return v.at(path: "doc") != nil && v.at(path: "doc_id") != nil
}

/// One line of a JSON Lines file, parsed.
private func parseLine(_ all: UnsafeRawBufferPointer, _ line: (no: Int, s: Int, e: Int)) -> Result<JSONValue, JSONParseError> {
    Result { () throws(JSONParseError) -> JSONValue in try JSONValue.parse(UnsafeRawBufferPointer(rebasing: all[line.s..<line.e])) }
}

/// The error of a line that does not parse or holds no JSON object; nil for an object.
private func lineError(_ r: Result<JSONValue, JSONParseError>, path: String, line: Int) -> EvalError? {
    switch r {
    case .failure(let e): return EvalError(.invalidJSON, path: path, line: line, e.description)
    case .success(.object): return nil
    case .success: return EvalError(.invalidJSON, path: path, line: line, "the line is not a JSON object")
    }
}

/// Rows of a JSON Lines file that is not lm-eval samples, each line parsed and made into a row on
/// the same thread; nil when the first line that parses says the file is lm-eval samples (`doc`
/// and `doc_id`). Lines that do not parse or hold no object are reported first, then rows that
/// cannot be made, each in line order, as the two steps report them one after the other.
private func readPlainJSONLines(_ bytes: [UInt8], _ lines: [(no: Int, s: Int, e: Int)], path: String, fields: EvalFields,
                                report: inout EvalReadReport, onError: ErrorPolicy) throws -> [EvalRow]? {
    enum Line { case notRow(EvalError), row(EvalRow), bad(EvalError) }
    let task = lmEvalTask(fileName: baseName(path))
    let results = bytes.withUnsafeBytes { all -> [Line]? in
        // The first object decides the format.
        for line in lines {
            guard case .success(let v) = parseLine(all, line), case .object = v else { continue }
            if isLMEvalSamples(name: baseName(path), firstObject: v) { return nil }
            break
        }
        return parallelMap(lines.count) { k -> Line in
            // Most lines are objects whose fields are read lazily (a row reads a few of them);
            // the parser reads, or rejects with its message, any line the lazy reader does not take.
            let record: RowRecord
            if let o = LazyJSONObject(UnsafeRawBufferPointer(rebasing: all[lines[k].s..<lines[k].e])) {
                record = .lazy(o)
            } else {
                let r = parseLine(all, lines[k])
                if let e = lineError(r, path: path, line: lines[k].no) { return .notRow(e) }
                guard case .success(let v) = r else { preconditionFailure("a line without an error is an object") }
                record = .tree(v)
            }
            do throws(EvalError) { return .row(try makeRow(record, file: path, line: lines[k].no, format: .jsonl, task: task, fields: fields)) } catch { return .bad(error) }
        }
    }
    guard let results else { return nil }
    for r in results { if case .notRow(let e) = r { try report.skip(e, onError) } }
    var rows: [EvalRow] = []
    rows.reserveCapacity(results.count)
    for r in results {
        switch r {
        case .row(let row): rows.append(row)
        case .bad(let e): try report.skip(e, onError)
        default: break
        }
    }
    return rows
}

/// The correctness fields tried when `--correct-field` is not given.
func defaultCorrectKeys(_ format: EvalFormat) -> [String] {
    format == .lmEvalSamples ? ["acc", "exact_match", "acc_norm"] : ["correct", "is_correct"]
}

/// One record per run of a wide record (see `EvalFields.runs`).
func expandRuns(_ records: [(line: Int, value: JSONValue)], runs: [String], pattern: String?, fields: EvalFields,
                path: String, report: inout EvalReadReport, onError: ErrorPolicy) throws -> [(line: Int, value: JSONValue)] {
    let regex: Regex<AnyRegexOutput>?
    do { regex = try pattern.map { try Regex($0) } } catch {
        throw UsageError("--run-pattern '\(pattern!)' is not a regular expression: \(error)")
    }
    let correctKeys = fields.correct.map { [$0] } ?? defaultCorrectKeys(.jsonl)
    var out: [(line: Int, value: JSONValue)] = []
    for (line, v) in records {
        guard case .object(let o) = v else { continue }
        let keys: [String]
        if runs == ["*"] {
            keys = o.keys.sorted().filter { k in
                if case .object(let inner)? = o[k] { return correctKeys.contains { inner[$0] != nil } }
                return false
            }
            if keys.isEmpty {
                try report.skip(EvalError(.missingField, path: path, line: line, "no run objects: no field holds an object with '\(correctKeys.joined(separator: "' or '"))' (name the runs with --runs, the field with --correct-field)"), onError)
                continue
            }
        } else {
            keys = runs
        }
        var base = o
        for k in keys { base[k] = nil }
        for k in keys {
            guard let rv = o[k] else {
                try report.skip(EvalError(.missingField, path: path, line: line, "no run field '\(k)' (named by --runs)"), onError)
                continue
            }
            guard case .object(let inner) = rv else {
                try report.skip(EvalError(.badValue, path: path, line: line, "run field '\(k)' is not an object"), onError)
                continue
            }
            var merged = base
            for (ik, iv) in inner { merged[ik] = iv }
            merged["run"] = .string(k)
            if let regex {
                guard let m = try? regex.wholeMatch(in: k) else {
                    throw EvalError(.badValue, path: path, line: line, "run '\(k)' does not match --run-pattern")
                }
                for el in m.output { if let name = el.name, let sub = el.substring { merged[name] = .string(String(sub)) } }
            }
            out.append((line, .object(merged)))
        }
    }
    return out
}


/// What a row is made from: a parsed tree, or a JSON Lines object whose fields are parsed when
/// read (the same values).
enum RowRecord {
    case tree(JSONValue)
    case lazy(LazyJSONObject)

    func at(path: String) -> JSONValue? {
        switch self {
        case .tree(let v): return v.at(path: path)
        case .lazy(let o): return o.at(path: path)
        }
    }

    /// The whole record, every field parsed.
    var tree: JSONValue {
        switch self {
        case .tree(let v): return v
        case .lazy(let o): return o.tree
        }
    }
}

func makeRow(_ v: RowRecord, file: String, line: Int, format: EvalFormat, task: String, model: String? = nil,
             fields f: EvalFields) throws(EvalError) -> EvalRow {
    func missing(_ what: String) -> EvalError { EvalError(.missingField, path: file, line: line, what) }
    func bad(_ what: String) -> EvalError { EvalError(.badValue, path: file, line: line, what) }
    // Question.
    var question: String?
    if let q = f.question {
        guard let qv = v.at(path: q) else { throw missing("no field '\(q)'") }
        guard let s = qv.scalarText else { throw bad("field '\(q)' is not a string") }
        question = s
    } else if format == .lmEvalSamples {
        for k in lmEvalQuestionKeys {
            if case .string(let s)? = v.at(path: "doc." + k) { question = s; break }
        }
        if question == nil { throw missing("no question in 'doc' (tried \(lmEvalQuestionKeys.joined(separator: ", ")); name it with --question-field doc.FIELD)") }
    } else {
        guard let qv = v.at(path: "question") else { throw missing("no field 'question' (name it with --question-field)") }
        guard let s = qv.scalarText else { throw bad("field 'question' is not a string") }
        question = s
    }
    // Answer (aliases allowed).
    var answers: [String] = []
    let answerKey = f.answer ?? (format == .lmEvalSamples ? "target" : "answer")
    if format == .lmEvalSamples && f.answer == nil {
        answers = lmEvalAnswers(v.tree)
    } else if let av = v.at(path: answerKey) {
        switch av {
        case .array(let items): answers = items.compactMap(\.scalarText)
        case .null: break
        default: if let s = av.scalarText { answers = [s] }
        }
    }
    if f.needAnswer && answers.isEmpty { throw missing("no answer in field '\(answerKey)' (name it with --answer-field)") }
    // Correctness.
    var correct: Double?
    let keys = f.correct.map { [$0] } ?? defaultCorrectKeys(format)
    func numericFields() -> String {
        guard case .object(let o) = v.tree else { return "none" }
        let names = o.keys.sorted().filter { k in
            guard !lmEvalBookkeeping.contains(k) || format != .lmEvalSamples else { return false }
            return parseCorrect(o[k]!) != nil
        }
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }
    func parsed(_ key: String, _ cv: JSONValue) throws(EvalError) -> Double {
        guard let c = parseCorrect(cv) else {
            let shown: String
            if let t = cv.scalarText { shown = "'\(t)'" } else if case .array = cv { shown = "a list (f1 and similar metrics log [gold, [prediction]])" } else { shown = "not a scalar" }
            throw bad("field '\(key)' is \(shown): expected true/false, 0/1 or a score in [0, 1]; fields here that are: \(numericFields()) (name one with --correct-field)")
        }
        return c
    }
    if f.needCorrect {
        guard let key = keys.first(where: { v.at(path: $0) != nil }), let cv = v.at(path: key) else {
            throw missing("no field '\(keys.joined(separator: "' or '"))'; fields here that hold 0/1 or a score: \(numericFields()) (name one with --correct-field)")
        }
        correct = try parsed(key, cv)
    } else if f.correctIfPresent {
        if let key = keys.first(where: { v.at(path: $0) != nil }), let cv = v.at(path: key), cv != .null {
            correct = try parsed(key, cv)
        }
    }
    // Groups: real fields, or the virtual `task` (lm-eval file name) and `file`.
    var group: [String] = []
    for g in f.groupBy {
        if let gv = v.at(path: g) {
            guard let s = gv.scalarText else { throw bad("group field '\(g)' is not a scalar") }
            group.append(s)
        } else if g == "task" && format == .lmEvalSamples {
            group.append(task)
        } else if g == "model", let model {
            group.append(model)
        } else if g == "file" {
            group.append(baseName(file))
        } else {
            throw missing("no group field '\(g)'")
        }
    }
    var extra: [String: String] = [:]
    for name in f.extra {
        if let ev = v.at(path: name) {
            guard let s = ev.scalarText else { throw bad("field '\(name)' is not a scalar") }
            extra[name] = s
        } else if name == "task" && format == .lmEvalSamples {
            extra[name] = task
        } else if name == "model", let model {
            extra[name] = model
        } else if name == "file" {
            extra[name] = baseName(file)
        } else {
            throw missing("no field '\(name)'")
        }
    }
    var termFields: [String: JSONValue] = [:]
    for name in f.termFields {
        guard let tv = v.at(path: name) else { throw missing("no field '\(name)' (named by --terms field:\(name))") }
        termFields[name] = tv
    }
    var id = f.needKey ? "\(baseName(file)):\(line)" : ""
    var key = f.needKey ? normalizedQuestionKey(question!) : ""
    if let k = f.id {
        guard let iv = v.at(path: k)?.scalarText else { throw missing("no id field '\(k)'") }
        id = iv
        key = iv
    } else if f.needKey && format == .lmEvalSamples, let d = v.at(path: "doc_id")?.scalarText {
        id = "\(task):\(d)"
        key = id
    }
    return EvalRow(file: file, line: line, id: id, key: key, question: question!, answers: answers, correct: correct,
                   group: group, termFields: termFields, extra: extra)
}

func parseCorrect(_ v: JSONValue) -> Double? {
    switch v {
    case .bool(let b): return b ? 1 : 0
    case .number(let d, _): return d >= 0 && d <= 1 ? d : nil
    case .string(let s):
        switch s.lowercased().trimmingSpaces {
        case "true", "yes", "correct": return 1
        case "false", "no", "incorrect": return 0
        default:
            guard let d = Double(s.trimmingSpaces), d >= 0, d <= 1 else { return nil }
            return d
        }
    default: return nil
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension EvalError: ExitCoded {
    public var exitStatus: ExitStatus { kind == .unreadable ? .noInput : .dataError }
}
extension CorrelateError: ExitCoded { public var exitStatus: ExitStatus { .dataError } }
extension CSVError: ExitCoded { public var exitStatus: ExitStatus { .dataError } }
extension JSONParseError: ExitCoded { public var exitStatus: ExitStatus { .dataError } }
