#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tail probabilities of the distributions the tests in this module need.
public enum Distribution {
    /// The 97.5% point of the standard normal, for 95% intervals.
    public static let z975 = 1.959963984540054

    /// Two-sided p-value of a standard normal statistic.
    public static func normalTwoSided(_ z: Double) -> Double {
        guard z.isFinite else { return z.isNaN ? .nan : 0 }
        return erfc(abs(z) / 2.0.squareRoot())
    }

    /// Two-sided p-value of Student's t with `df` degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2).
    public static func studentTwoSided(_ t: Double, df: Double) -> Double {
        guard df > 0, !t.isNaN else { return .nan }
        if t.isInfinite { return 0 }
        return regularizedIncompleteBeta(a: df / 2, b: 0.5, x: df / (df + t * t))
    }

    /// The regularized incomplete beta function I_x(a, b), by its continued fraction
    /// (modified Lentz), using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where that converges faster.
    public static func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x > (a + 1) / (a + b + 2) {
            return 1 - exp(lnFront) * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
        }
        return exp(lnFront) * betaContinuedFraction(a: a, b: b, x: x) / a
    }

    static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300, eps = 1e-16
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...10_000 {
            let m = Double(m)
            // Even step.
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            f *= d * c
            // Odd step.
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < eps { break }
        }
        return f
    }
}
