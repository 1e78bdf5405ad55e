/// Adjusting p-values for many comparisons, as statsmodels' `multipletests` does.
public enum PAdjust: String, Sendable, CaseIterable {
    /// Holm's step-down method: controls the family-wise error rate.
    case holm
    /// Benjamini-Hochberg: controls the false discovery rate.
    case bh
    case none

    /// Adjusted p-values in the input order. NaN entries (tests that could not be made) stay NaN
    /// and do not count toward the number of tests.
    public func adjust(_ p: [Double]) -> [Double] {
        let idx = p.indices.filter { !p[$0].isNaN }
        let m = idx.count
        var out = p
        guard m > 0, self != .none else { return out }
        switch self {
        case .holm:
            // Ascending: adj_(i) = max over j <= i of min(1, (m - j) p_(j)).
            let order = idx.sorted { (p[$0], $0) < (p[$1], $1) }
            var running = 0.0
            for (k, i) in order.enumerated() {
                running = max(running, min(1, Double(m - k) * p[i]))
                out[i] = running
            }
        case .bh:
            // Descending: adj_(i) = min over j >= i of min(1, m p_(j) / j).
            let order = idx.sorted { (p[$0], $0) < (p[$1], $1) }
            var running = 1.0
            for k in stride(from: m - 1, through: 0, by: -1) {
                let i = order[k]
                running = min(running, min(1, Double(m) * p[i] / Double(k + 1)))
                out[i] = running
            }
        case .none:
            break
        }
        return out
    }
}
