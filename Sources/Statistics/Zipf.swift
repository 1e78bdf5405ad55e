#if canImport(Glibc)
import Glibc
#endif

/// Zipf's law fitted by maximum likelihood to a rank-frequency list.
public struct ZipfMLE: Sendable {
    /// s in p(r) = r^-s / H(R, s), for ranks r = 1...R.
    public let exponent: Double
    /// From the observed information (1 / sqrt(-d²ℓ/ds²)); treats tokens as independent draws.
    public let standardError: Double
    public let logLikelihood: Double
    /// The fitted range: ranks 1...maxRank, holding `tokens` tokens.
    public let maxRank: Int
    public let tokens: UInt64
}

/// Maximum-likelihood Zipf exponent over ranks 1...maxRank of `countsDescending` (counts sorted
/// from the most frequent type down): every token of those types is a draw from the truncated
/// discrete power law p(r) ∝ r^-s. The log-likelihood ℓ(s) = -s Σ c_r ln r - N ln H(R, s) is
/// concave, so Newton's method (kept inside a shrinking bracket) finds the single maximum.
/// Nil with fewer than two ranks or no tokens.
public func zipfMLE(countsDescending c: [UInt64], maxRank: Int) -> ZipfMLE? {
    let R = min(maxRank, c.count)
    guard R >= 2 else { return nil }
    var lnr = [Double](repeating: 0, count: R)
    var n = 0.0, a = 0.0
    for r in 0..<R {
        lnr[r] = log(Double(r + 1))
        n += Double(c[r]); a += Double(c[r]) * lnr[r]
    }
    guard n > 0 else { return nil }
    // H = Σ r^-s, and the first two moments of ln r under p_s.
    func moments(_ s: Double) -> (logH: Double, m1: Double, m2: Double) {
        var h = 0.0, h1 = 0.0, h2 = 0.0
        for r in 0..<R {
            let w = exp(-s * lnr[r])
            h += w; h1 += w * lnr[r]; h2 += w * lnr[r] * lnr[r]
        }
        return (log(h), h1 / h, h2 / h)
    }
    // ℓ'(s) = -A + N m1(s), decreasing in s (ℓ'' = -N Var(ln r) < 0).
    var lo = 0.0, hi = 20.0
    var s = 1.0
    for _ in 0..<200 {
        let m = moments(s)
        let g = -a + n * m.m1
        let v = m.m2 - m.m1 * m.m1
        if g > 0 { lo = s } else { hi = s }
        var next = s + g / (n * v)
        if !(next > lo && next < hi) || !next.isFinite { next = (lo + hi) / 2 }
        if abs(next - s) <= 1e-13 * max(1, abs(s)) { s = next; break }
        s = next
    }
    let m = moments(s)
    let info = n * (m.m2 - m.m1 * m.m1)
    return ZipfMLE(exponent: s, standardError: info > 0 ? 1 / info.squareRoot() : .infinity,
                   logLikelihood: -s * a - n * m.logH, maxRank: R, tokens: UInt64(n))
}
