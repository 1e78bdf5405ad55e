#if canImport(Glibc)
import Glibc
#endif

/// Number formatting and plain-text tables for every command's output.
public enum Render {
    public static func pct(_ x: Double) -> String { format1(x * 100) + "%" }
    /// Two significant digits (for standard errors).
    public static func significant(_ x: Double) -> String {
        guard x.isFinite, x > 0 else { return x == 0 ? "0" : "n/a" }
        return fixed(x, max(0, 1 - Int(floor(log10(x)))))
    }

    public static func fixed(_ x: Double, _ digits: Int) -> String {
        // Beyond 2^53 (or not finite) there are no digits to fix; say the number as it is.
        guard x.isFinite, abs(x) < 9e15 else { return x.isNaN ? "nan" : "\(x)" }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let v = (abs(x) * p).rounded() / p
        var s = "\(Int(v))"
        if digits > 0 {
            let frac = Int(((v - Double(Int(v))) * p).rounded())
            let f = "\(frac)"
            s += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return (x < 0 && v != 0 ? "-" : "") + s
    }

    /// Right-aligns columns after the first.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for r in all { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ")
        }
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
            + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
