#if canImport(Glibc)
import Glibc
#endif

/// A self-contained SVG grouped bar chart: categories along x, one bar per series in each, with
/// optional interval whiskers, value labels and a legend. Same palette and fonts as `LineChart`.
public struct BarChart: Sendable {
    public struct Series: Sendable {
        public let name: String
        /// One value per category (NaN: no bar).
        public let values: [Double]
        public let low: [Double]?
        public let high: [Double]?
        /// Text over each bar (e.g. "n=12"); empty for none.
        public let labels: [String]
        public init(name: String, values: [Double], low: [Double]? = nil, high: [Double]? = nil, labels: [String] = []) {
            self.name = name; self.values = values; self.low = low; self.high = high; self.labels = labels
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var caption: String
    public var categories: [String]
    public var series: [Series]
    public var yRange: ClosedRange<Double> = 0...1
    /// Format y ticks as percentages.
    public var percent = true
    public var width = 760.0
    public var height = 420.0

    public init(title: String, xLabel: String, yLabel: String, caption: String, categories: [String], series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.caption = caption
        self.categories = categories; self.series = series
    }

    public func render() -> String {
        let axis = LineChart(title: "", xLabel: "", yLabel: "", caption: "", series: [])
        let f = axis.f
        let left = 64.0, right = 20.0, top = 40.0
        let legendRows = Double(series.count)
        let bottom = 56.0 + 18.0 * legendRows + (caption.isEmpty ? 0 : 34)
        let h = height + 18.0 * legendRows
        let pw = width - left - right, ph = h - top - bottom
        let y0 = yRange.lowerBound, y1 = yRange.upperBound
        func py(_ y: Double) -> Double { top + (1 - (min(max(y, y0), y1) - y0) / (y1 - y0)) * ph }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(h))" viewBox="0 0 \(f(width)) \(f(h))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <title>\(esc(title))</title>
        <rect x="0" y="0" width="\(f(width))" height="\(f(h))" fill="#ffffff"/>
        <text x="\(f(left))" y="22" font-size="15" font-weight="bold">\(esc(title))</text>

        """
        for t in axis.yTicks(y0, y1) {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(t)))\" stroke=\"#e5e5e5\"/>\n"
            let label = percent ? "\(Int((t * 100).rounded()))%" : axis.tickText(t)
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(esc(label))</text>\n"
        }
        let groupW = pw / Double(max(1, categories.count))
        let barW = groupW * 0.8 / Double(max(1, series.count))
        for (c, name) in categories.enumerated() {
            let gx = left + groupW * Double(c)
            s += "<text x=\"\(f(gx + groupW / 2))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(esc(name))</text>\n"
            for (k, ser) in series.enumerated() where c < ser.values.count && ser.values[c].isFinite {
                let color = LineChart.palette[k % LineChart.palette.count]
                let x = gx + groupW * 0.1 + barW * Double(k)
                let v = ser.values[c]
                s += "<rect x=\"\(f(x))\" y=\"\(f(py(v)))\" width=\"\(f(max(1, barW - 2)))\" height=\"\(f(py(y0) - py(v)))\" fill=\"\(color)\"><title>\(esc(ser.name)) \(esc(name)): \(esc(axis.tickText(v)))</title></rect>\n"
                if let lo = ser.low?[c], let hi = ser.high?[c], lo.isFinite, hi.isFinite {
                    let cx = x + (barW - 2) / 2
                    s += "<line x1=\"\(f(cx))\" y1=\"\(f(py(lo)))\" x2=\"\(f(cx))\" y2=\"\(f(py(hi)))\" stroke=\"#222222\"/>\n"
                }
                if c < ser.labels.count && !ser.labels[c].isEmpty {
                    let ly = py(max(v, ser.high?[c] ?? v)) - 4
                    s += "<text x=\"\(f(x + (barW - 2) / 2))\" y=\"\(f(ly))\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333333\">\(esc(ser.labels[c]))</text>\n"
                }
            }
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#444444\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(top + ph + 36))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel))</text>\n"
        for (k, ser) in series.enumerated() {
            let ly = top + ph + 52 + 18 * Double(k)
            s += "<rect x=\"\(f(left))\" y=\"\(f(ly - 9))\" width=\"14\" height=\"10\" fill=\"\(LineChart.palette[k % LineChart.palette.count])\"/>\n"
            s += "<text x=\"\(f(left + 20))\" y=\"\(f(ly))\">\(esc(ser.name))</text>\n"
        }
        if !caption.isEmpty {
            s += "<text x=\"\(f(left))\" y=\"\(f(top + ph + 52 + 18 * legendRows + 6))\" font-size=\"11\" fill=\"#555555\">\(esc(caption))</text>\n"
        }
        return s + "</svg>\n"
    }
}
