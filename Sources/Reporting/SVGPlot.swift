#if canImport(Glibc)
import Glibc
#endif

/// A self-contained SVG line chart: one series per group, points with vertical interval bars,
/// a log-scaled x axis labelled in counts, and a legend. No scripts, no external resources.
public struct LineChart: Sendable {
    public struct Point: Sendable {
        public let x: Double
        public let y: Double
        public let low: Double?
        public let high: Double?
        public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil) {
            self.x = x; self.y = y; self.low = low; self.high = high
        }
    }
    public struct Series: Sendable {
        public let name: String
        public let points: [Point]
        /// Draw a circle at each point (off for dense curves).
        public var markers = true
        public var dashed = false
        public init(name: String, points: [Point], markers: Bool = true, dashed: Bool = false) {
            self.name = name; self.points = points; self.markers = markers; self.dashed = dashed
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var caption: String
    public var series: [Series]
    /// x values are log10(count + 1); ticks are labelled with counts.
    public var logCountX = true
    /// x values are log10(v) (v ≥ 1, e.g. ranks); ticks at powers of ten. Overrides logCountX.
    public var logX = false
    /// y values are log10(v); ticks at powers of ten.
    public var logY = false
    /// Fix the y range (e.g. 0...1 for accuracy); nil fits the data.
    public var yRange: ClosedRange<Double>? = 0...1
    public var width = 760.0
    public var height = 460.0

    public init(title: String, xLabel: String, yLabel: String, caption: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.caption = caption; self.series = series
    }

    /// Colour-blind-safe palette (Okabe-Ito), cycled.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    public func render() -> String {
        let legendRows = series.count
        let left = 64.0, right = 20.0, top = 40.0
        let bottom = 56.0 + 18.0 * Double(legendRows) + (caption.isEmpty ? 0 : 34)
        let h = height + 18.0 * Double(legendRows)
        let pw = width - left - right, ph = h - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1
        if x1 - x0 < 1e-9 { x0 -= 0.5; x1 += 0.5 }
        let pad = (x1 - x0) * 0.04
        x0 -= pad; x1 += pad
        var y0 = yRange?.lowerBound ?? (series.flatMap { $0.points.map { $0.low ?? $0.y } }.min() ?? 0)
        var y1 = yRange?.upperBound ?? (series.flatMap { $0.points.map { $0.high ?? $0.y } }.max() ?? 1)
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(h))" viewBox="0 0 \(f(width)) \(f(h))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <title>\(esc(title))</title>
        <rect x="0" y="0" width="\(f(width))" height="\(f(h))" fill="#ffffff"/>
        <text x="\(f(left))" y="22" font-size="15" font-weight="bold">\(esc(title))</text>

        """
        // Grid and ticks.
        for t in yTicks(y0, y1) {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(esc(logY ? countLabel(pow(10, t)) : tickText(t)))</text>\n"
        }
        for t in xTicks(x0, x1) {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + ph))\" stroke=\"#eeeeee\"/>\n"
            let label = logX ? countLabel(pow(10, t)) : logCountX ? countLabel(pow(10, t) - 1) : tickText(t)
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(esc(label))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#444444\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(top + ph + 36))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel))</text>\n"
        // Series.
        for (k, ser) in series.enumerated() {
            let color = Self.palette[k % Self.palette.count]
            let dx = series.count > 1 ? (Double(k) - Double(series.count - 1) / 2) * 2.5 : 0
            let pts = ser.points.filter { $0.x.isFinite && $0.y.isFinite }
            if pts.count >= 2 {
                let d = pts.map { "\(f(px($0.x) + dx)),\(f(py($0.y)))" }.joined(separator: " ")
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(ser.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(d)\"/>\n"
            }
            for p in pts where ser.markers {
                if let lo = p.low, let hi = p.high, lo.isFinite, hi.isFinite {
                    s += "<line x1=\"\(f(px(p.x) + dx))\" y1=\"\(f(py(lo)))\" x2=\"\(f(px(p.x) + dx))\" y2=\"\(f(py(hi)))\" stroke=\"\(color)\" stroke-opacity=\"0.6\"/>\n"
                }
                s += "<circle cx=\"\(f(px(p.x) + dx))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(color)\"><title>\(esc(ser.name)): \(esc(tickText(p.y)))</title></circle>\n"
            }
            let ly = top + ph + 52 + 18 * Double(k)
            s += "<rect x=\"\(f(left))\" y=\"\(f(ly - 9))\" width=\"14\" height=\"10\" fill=\"\(color)\"/>\n"
            s += "<text x=\"\(f(left + 20))\" y=\"\(f(ly))\">\(esc(ser.name))</text>\n"
        }
        if !caption.isEmpty {
            let cy = top + ph + 52 + 18 * Double(legendRows) + 6
            s += "<text x=\"\(f(left))\" y=\"\(f(cy))\" font-size=\"11\" fill=\"#555555\">\(esc(caption))</text>\n"
        }
        return s + "</svg>\n"
    }

    func f(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? "\(Int(r))" : "\(r)"
    }

    func yTicks(_ a: Double, _ b: Double) -> [Double] {
        if logY { return decades(a, b) }
        let step = niceStep((b - a) / 5)
        var t = (a / step).rounded(.up) * step
        var out: [Double] = []
        while t <= b + 1e-9 { out.append(t); t += step }
        return out
    }

    /// Integer exponents in [a, b], thinned to at most 8.
    func decades(_ a: Double, _ b: Double) -> [Double] {
        guard a <= b, b - a < 400 else { return [] }
        let all = Array(Int(a.rounded(.up))...max(Int(a.rounded(.up)), Int(b.rounded(.down)))).map(Double.init).filter { $0 >= a && $0 <= b }
        let step = max(1, (all.count + 7) / 8)
        return all.enumerated().filter { $0.offset % step == 0 }.map(\.element)
    }

    func xTicks(_ a: Double, _ b: Double) -> [Double] {
        if logX { return decades(a, b) }
        guard logCountX else { return yTicks(a, b) }
        // Ticks at counts 0, 1, 10, 100, ... (x = log10(count + 1)).
        var out: [Double] = []
        if a <= 0 && b >= 0 { out.append(0) }
        var c = 1.0
        while log10(c + 1) <= b {
            let x = log10(c + 1)
            if x >= a { out.append(x) }
            c *= 10
        }
        if out.count > 9 { out = out.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) }
        return out
    }

    func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        let e = pow(10, floor(log10(raw)))
        let m = raw / e
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e
    }

    func tickText(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? "\(Int(r))" : "\(r)"
    }

    func countLabel(_ c: Double) -> String {
        let c = c.rounded()
        if c >= 1e9 { return "\(Int(c / 1e9))G" }
        if c >= 1e6 { return "\(Int(c / 1e6))M" }
        if c >= 1e3 { return "\(Int(c / 1e3))k" }
        return "\(Int(c))"
    }
}

/// Escapes text for XML/HTML.
public func esc(_ s: String) -> String {
    var out = ""
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default:
            if ch.value < 0x20 && ch != "\n" && ch != "\t" { out += " " } else { out.unicodeScalars.append(ch) }
        }
    }
    return out
}
