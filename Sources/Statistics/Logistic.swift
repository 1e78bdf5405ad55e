import COpenBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maximum-likelihood logistic regression by iteratively reweighted least squares (Newton's
/// method), as statsmodels' `Logit(y, X).fit()` computes it. The normal equations X'WX are formed
/// with BLAS (`dsyrk`, `dgemv`) and solved, and inverted for the covariance, with LAPACK's
/// Cholesky routines (`dpotrf`, `dpotrs`, `dpotri`).
public struct LogisticFit: Sendable {
    /// Coefficients: intercept first, then one per predictor column.
    public let coef: [Double]
    /// Standard errors from the inverse Fisher information at the optimum.
    public let se: [Double]
    public let z: [Double]
    /// Two-sided Wald p-values.
    public let p: [Double]
    public let logLikelihood: Double
    public let iterations: Int
    public let converged: Bool
}

public enum LogisticError: Error, CustomStringConvertible, Sendable {
    case noVariation(String)
    case singular
    case separated

    public var description: String {
        switch self {
        case .noVariation(let what): return "no variation in \(what)"
        case .singular: return "the design matrix is singular"
        case .separated: return "perfect or quasi-perfect separation: the maximum-likelihood slope is infinite"
        }
    }
}

/// Fits P(y=1) = 1/(1+exp(-(b0 + b.x))). `columns` are the predictors (each of length n);
/// `y` holds 0/1 outcomes or scores in [0, 1] (a fractional response, fitted by the same
/// quasi-likelihood equations).
public func logisticRegression(columns: [[Double]], y: [Double], maxIterations: Int = 100,
                               tolerance: Double = 1e-10) throws(LogisticError) -> LogisticFit {
    let n = y.count
    let p = columns.count + 1
    guard n > p else { throw .noVariation("outcomes: too few observations") }
    let ybar = y.reduce(0, +) / Double(n)
    if ybar <= 0 || ybar >= 1 { throw .noVariation("outcomes: every outcome is \(ybar <= 0 ? 0 : 1)") }
    for c in columns {
        precondition(c.count == n)
        if c.allSatisfy({ $0 == c[0] }) { throw .noVariation("the predictor: every value is \(c[0])") }
    }
    openblas_set_num_threads(1)
    // Column-major n x p design matrix.
    var X = [Double](repeating: 1, count: n * p)
    for (j, c) in columns.enumerated() {
        for i in 0..<n { X[(j + 1) * n + i] = c[i] }
    }
    // Start from the intercept-only fit.
    var beta = [Double](repeating: 0, count: p)
    beta[0] = log(ybar / (1 - ybar))
    var eta = [Double](repeating: 0, count: n)
    var sqrtW = [Double](repeating: 0, count: n * p)
    var H = [Double](repeating: 0, count: p * p)
    var g = [Double](repeating: 0, count: p)
    var resid = [Double](repeating: 0, count: n)
    var iterations = 0
    var converged = false
    var ll = -Double.infinity

    func loglik(_ eta: [Double]) -> Double {
        var s = 0.0
        for i in 0..<n {
            // log(1+exp(e)) computed stably.
            let e = eta[i]
            let soft = e > 0 ? e + log1p(exp(-e)) : log1p(exp(e))
            s += y[i] * e - soft
        }
        return s
    }

    func factorHessian() throws(LogisticError) {
        // eta = X beta; mu = logistic(eta); W = mu(1-mu); H = X' W X; g = X'(y - mu).
        cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(n), Int32(p), 1, X, Int32(n), beta, 1, 0, &eta, 1)
        for i in 0..<n {
            let mu = 1 / (1 + exp(-eta[i]))
            let w = mu * (1 - mu)
            resid[i] = y[i] - mu
            let sw = w.squareRoot()
            for j in 0..<p { sqrtW[j * n + i] = X[j * n + i] * sw }
        }
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, Int32(p), Int32(n), 1, sqrtW, Int32(n), 0, &H, Int32(p))
        cblas_dgemv(CblasColMajor, CblasTrans, Int32(n), Int32(p), 1, X, Int32(n), resid, 1, 0, &g, 1)
        var uplo: CChar = 85 // "U"
        var dim = Int32(p), lda = Int32(p), info: Int32 = 0
        dpotrf_(&uplo, &dim, &H, &lda, &info)
        if info != 0 { throw .singular }
    }

    ll = loglik({ () -> [Double] in
        cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(n), Int32(p), 1, X, Int32(n), beta, 1, 0, &eta, 1)
        return eta
    }())
    while iterations < maxIterations {
        iterations += 1
        try factorHessian()
        var step = g
        var uplo: CChar = 85
        var dim = Int32(p), nrhs: Int32 = 1, lda = Int32(p), ldb = Int32(p), info: Int32 = 0
        dpotrs_(&uplo, &dim, &nrhs, &H, &lda, &step, &ldb, &info)
        if info != 0 { throw .singular }
        for j in 0..<p { beta[j] += step[j] }
        var newEta = [Double](repeating: 0, count: n)
        cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(n), Int32(p), 1, X, Int32(n), beta, 1, 0, &newEta, 1)
        let newLL = loglik(newEta)
        let maxStep = step.map { abs($0) }.max() ?? 0
        ll = newLL
        if maxStep < tolerance * (1 + (beta.map { abs($0) }.max() ?? 0)) { converged = true; break }
    }
    // Separation drives the slope to infinity while the likelihood approaches 0 from below.
    if !converged || beta.contains(where: { !$0.isFinite || abs($0) > 1e6 }) { throw .separated }
    try factorHessian()
    var uplo: CChar = 85
    var dim = Int32(p), lda = Int32(p), info: Int32 = 0
    dpotri_(&uplo, &dim, &H, &lda, &info)
    if info != 0 { throw .singular }
    var se = [Double](repeating: 0, count: p), z = se, pv = se
    for j in 0..<p {
        se[j] = H[j * p + j].squareRoot()
        z[j] = beta[j] / se[j]
        pv[j] = Distribution.normalTwoSided(z[j])
    }
    return LogisticFit(coef: beta, se: se, z: z, p: pv, logLikelihood: ll, iterations: iterations, converged: converged)
}
