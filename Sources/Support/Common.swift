// Small shared utilities: version, clocks, stderr, sizes, number formatting, text outputs,
// the progress line. (Moved here from Indexing so every module has them without it.)

#if canImport(Glibc)
import Glibc
#endif

/// The version written into every index.
public let tailscopeVersion = "0.1.0"

/// Monotonic seconds.
public func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// UTC time as ISO 8601.
public func isoNow() -> String {
    var t = time(nil)
    var tmv = tm()
    gmtime_r(&t, &tmv)
    var buf = [CChar](repeating: 0, count: 32)
    strftime(&buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tmv)
    return String(cString: buf)
}

/// Writes to standard error, unbuffered.
public func printError(_ s: String) {
    var line = s
    line.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
}

public func stderrIsTerminal() -> Bool { isatty(2) != 0 }

/// Parses sizes such as `512MiB`, `1GiB`, `2G`, `300000000`.
public func parseByteSize(_ s: String) -> Int? {
    let t = s.trimmingCharacters(in: " ")
    var digits = ""
    var rest = Substring(t)
    while let c = rest.first, c.isNumber || c == "." { digits.append(c); rest = rest.dropFirst() }
    guard let v = Double(digits) else { return nil }
    let unit = rest.lowercased()
    let mult: Double
    switch unit {
    case "", "b": mult = 1
    case "k", "kb", "kib": mult = 1024
    case "m", "mb", "mib": mult = 1024 * 1024
    case "g", "gb", "gib": mult = 1024 * 1024 * 1024
    case "t", "tb", "tib": mult = 1024 * 1024 * 1024 * 1024
    default: return nil
    }
    return Int(v * mult)
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

/// Physical memory in bytes.
public func physicalMemory() -> Int {
    Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

public func onlineCores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

/// Peak resident set size of this process, in bytes.
public func peakRSS() -> Int {
    var ru = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru)
    return Int(ru.ru_maxrss) * 1024
}

public func formatBytes(_ b: Double) -> String {
    let k = 1024.0
    if b >= k * k * k { return format1(b / (k * k * k)) + " GiB" }
    if b >= k * k { return format1(b / (k * k)) + " MiB" }
    if b >= k { return format1(b / k) + " KiB" }
    return "\(Int(b)) B"
}

public func format1(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return r == r.rounded() ? "\(Int(r)).0" : "\(r)"
}

/// Writes a text output: atomically for a regular file, in place for a device or FIFO, to
/// standard output for `-`.
public func writeTextFile(_ path: String, _ text: String) throws {
    try writeOutput(path, text)
}

/// One progress line on stderr for a pass over a corpus, redrawn at most twice a second: how much
/// of the input was read, documents (and tokens), speed and the time left; `finish()` erases it.
/// Every corpus pass (index, cooccur, report's contamination scan, prune) draws the same line.
public struct ProgressLine {
    /// What is being read (the current file, for `index`).
    public var label: String
    public let total: Int64
    public let enabled: Bool
    let start = now()
    var last = 0.0

    public init(label: String, total: Int64, enabled: Bool) {
        self.label = label; self.total = total; self.enabled = enabled
    }

    /// `done` and `total` are compressed bytes read; `decompressed`, when known, gives the speed
    /// in text bytes.
    public mutating func update(done: Int64, docs: Int64, tokens: Int64? = nil, decompressed: Int64? = nil, extra: String = "") {
        guard enabled else { return }
        let t = now()
        if t - last < 0.5 { return }
        last = t
        let el = max(t - start, 1e-9)
        let frac = Double(done) / Double(max(1, total))
        let eta = frac > 0 ? el * (1 - frac) / frac : 0
        var line = "\(label)\(label.isEmpty ? "" : " ")\(formatBytes(Double(done)))/\(formatBytes(Double(total))) read, \(docs) docs"
        if let tokens { line += ", \(tokens) tokens" }
        line += ", \(formatBytes(Double(decompressed ?? done) / el))/s, ETA \(Int(eta)) s"
        if !extra.isEmpty { line += ", " + extra }
        printError("\r\u{1B}[K" + line)
    }

    public func finish() { if enabled { printError("\r\u{1B}[K") } }
}
