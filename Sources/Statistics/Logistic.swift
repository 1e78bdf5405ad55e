import COpenBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maximum-likelihood logistic regression by iteratively reweighted least squares (Newton's
/// method), as statsmodels' `Logit(y, X).fit()` and `GLM(y, X, Binomial()).fit()` compute it. The
/// normal equations X'WX are formed with BLAS (`dsyrk`, `dgemv`) and solved, and inverted for the
/// covariance, with LAPACK's Cholesky routines (`dpotrf`, `dpotrs`, `dpotri`).
///
/// `y` holds 0/1 outcomes or scores in [0, 1]. A score is a fractional response (Papke and
/// Wooldridge's fractional logit): the same estimating equations, whose model-based standard
/// errors are only right for 0/1 outcomes; use the cluster-robust covariance with scores.
public struct LogisticFit: Sendable {
    /// Coefficients: intercept first, then one per predictor column.
    public let coef: [Double]
    /// Standard errors: model-based (inverse Fisher information) or cluster-robust.
    public let se: [Double]
    public let z: [Double]
    /// Two-sided Wald p-values (normal reference distribution, as statsmodels' GLM).
    public let p: [Double]
    public let logLikelihood: Double
    public let iterations: Int
    public let converged: Bool
    /// The covariance matrix of `coef`, row-major p x p.
    public let covariance: [Double]
    /// Number of clusters of the robust covariance, nil for the model-based one.
    public let clusters: Int?
    public let observations: Int

    /// Variance of the linear combination c'b.
    public func variance(of c: [Double]) -> Double {
        let p = coef.count
        precondition(c.count == p)
        var v = 0.0
        for i in 0..<p { for j in 0..<p { v += c[i] * covariance[i * p + j] * c[j] } }
        return v
    }

    /// The estimate c'b with its standard error, Wald 95% interval and two-sided p-value.
    public func combination(_ c: [Double]) -> Estimate {
        var e = 0.0
        for (i, ci) in c.enumerated() { e += ci * coef[i] }
        return Estimate(value: e, se: variance(of: c).squareRoot())
    }

    /// The estimate of coefficient `j`.
    public func estimate(_ j: Int) -> Estimate { Estimate(value: coef[j], se: se[j]) }
}

/// A point estimate with a normal-theory (Wald) standard error.
public struct Estimate: Sendable {
    public let value: Double
    public let se: Double
    public init(value: Double, se: Double) { self.value = value; self.se = se }
    public var z: Double { value / se }
    public var p: Double { Distribution.normalTwoSided(z) }
    public var low: Double { value - Distribution.z975 * se }
    public var high: Double { value + Distribution.z975 * se }
}

public enum LogisticError: Error, CustomStringConvertible, Sendable {
    case noVariation(String)
    case singular
    case separated
    case tooFewClusters(Int)

    public var description: String {
        switch self {
        case .noVariation(let what): return "no variation in \(what)"
        case .singular: return "the design matrix is singular"
        case .separated: return "perfect or quasi-perfect separation: the maximum-likelihood slope is infinite"
        case .tooFewClusters(let g): return "\(g) cluster(s): cluster-robust errors need at least 2"
        }
    }
}

/// Fits P(y=1) = 1/(1+exp(-(b0 + b.x))) with model-based standard errors. `columns` are the
/// predictors (each of length n).
public func logisticRegression(columns: [[Double]], y: [Double], maxIterations: Int = 100,
                               tolerance: Double = 1e-10) throws(LogisticError) -> LogisticFit {
    try logisticRegression(columns: columns, y: y, clusters: nil, maxIterations: maxIterations, tolerance: tolerance)
}

/// Fits the logistic model; with `clusters` (a cluster id per observation, e.g. the question a
/// row answers) the covariance is the cluster-robust sandwich
///   V = c (X'WX)^-1 (sum_g s_g s_g') (X'WX)^-1,  s_g = sum over g's rows of x_i (y_i - mu_i),
///   c = G/(G-1) (n-1)/(n-p),
/// which is statsmodels' `GLM(...).fit(cov_type='cluster', cov_kwds={'groups': g})` with its
/// default small-sample correction; p-values use the normal distribution as statsmodels' GLM does.
public func logisticRegression(columns: [[Double]], y: [Double], clusters: [Int]?, maxIterations: Int = 100,
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
    let binary = y.allSatisfy { $0 == 0 || $0 == 1 }
    // One predictor: separation is a property of the data, checked exactly (the largest x of one
    // outcome is at most the smallest x of the other).
    if binary && columns.count == 1 {
        var lo0 = Double.infinity, hi0 = -Double.infinity, lo1 = Double.infinity, hi1 = -Double.infinity
        for (i, v) in columns[0].enumerated() {
            if y[i] == 1 { lo1 = min(lo1, v); hi1 = max(hi1, v) } else { lo0 = min(lo0, v); hi0 = max(hi0, v) }
        }
        if hi0 <= lo1 || hi1 <= lo0 { throw .separated }
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
    // Quasi-complete separation with several predictors: some rows are fitted with probability
    // 0 or 1 to machine precision (|eta| > 30 means mu within 1e-13 of 0 or 1).
    if binary && eta.contains(where: { abs($0) > 30 }) { throw .separated }
    var uplo: CChar = 85
    var dim = Int32(p), lda = Int32(p), info: Int32 = 0
    dpotri_(&uplo, &dim, &H, &lda, &info)
    if info != 0 { throw .singular }
    // dpotri leaves the upper triangle (column-major); mirror it into a full row-major matrix.
    var A = [Double](repeating: 0, count: p * p)
    for j in 0..<p { for i in 0...j { A[i * p + j] = H[j * p + i]; A[j * p + i] = H[j * p + i] } }
    var cov = A
    var groupCount: Int? = nil
    if let clusters {
        precondition(clusters.count == n)
        // Scores summed per cluster.
        var slot: [Int: Int] = [:]
        var sums: [Double] = []
        for i in 0..<n {
            let k: Int
            if let s = slot[clusters[i]] { k = s } else { k = slot.count; slot[clusters[i]] = k; sums.append(contentsOf: repeatElement(0, count: p)) }
            for j in 0..<p { sums[k * p + j] += X[j * n + i] * resid[i] }
        }
        let G = slot.count
        guard G >= 2 else { throw .tooFewClusters(G) }
        var meat = [Double](repeating: 0, count: p * p)
        for k in 0..<G { for a in 0..<p { let sa = sums[k * p + a]; for b in 0..<p { meat[a * p + b] += sa * sums[k * p + b] } } }
        let c = Double(G) / Double(G - 1) * Double(n - 1) / Double(n - p)
        var AM = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for j in 0..<p { var s = 0.0; for k in 0..<p { s += A[i * p + k] * meat[k * p + j] }; AM[i * p + j] = s } }
        for i in 0..<p { for j in 0..<p { var s = 0.0; for k in 0..<p { s += AM[i * p + k] * A[k * p + j] }; cov[i * p + j] = c * s } }
        groupCount = G
    }
    var se = [Double](repeating: 0, count: p), z = se, pv = se
    for j in 0..<p {
        se[j] = cov[j * p + j].squareRoot()
        z[j] = beta[j] / se[j]
        pv[j] = Distribution.normalTwoSided(z[j])
    }
    return LogisticFit(coef: beta, se: se, z: z, p: pv, logLikelihood: ll, iterations: iterations, converged: converged,
                       covariance: cov, clusters: groupCount, observations: n)
}

/// The two-parameter logistic fit b0 + b1 x with integer observation weights (a bootstrap
/// resample), by Newton's method from `start`: the inner loop of paired bootstraps, where a
/// general fit per resample would dominate the run time. Nil when the weighted data are
/// separated, constant, or the iteration does not converge.
public func weightedLogisticSlope(x: [Double], y: [Double], weights w: [Int32], start: (Double, Double) = (0, 0),
                                  maxIterations: Int = 50) -> (intercept: Double, slope: Double)? {
    let n = x.count
    var b0 = start.0, b1 = start.1
    // Separation and constant outcomes, checked exactly on the weighted rows.
    var lo0 = Double.infinity, hi0 = -Double.infinity, lo1 = Double.infinity, hi1 = -Double.infinity
    var binary = true, sw = 0.0, sy = 0.0, xmin = Double.infinity, xmax = -Double.infinity
    for i in 0..<n where w[i] != 0 {
        let v = x[i], yi = y[i]
        sw += Double(w[i]); sy += Double(w[i]) * yi
        xmin = min(xmin, v); xmax = max(xmax, v)
        if yi == 1 { lo1 = min(lo1, v); hi1 = max(hi1, v) } else if yi == 0 { lo0 = min(lo0, v); hi0 = max(hi0, v) } else { binary = false }
    }
    guard sw > 2, sy > 0, sy < sw, xmax > xmin else { return nil }
    if binary && (hi0 <= lo1 || hi1 <= lo0) { return nil }
    for _ in 0..<maxIterations {
        var h00 = 0.0, h01 = 0.0, h11 = 0.0, g0 = 0.0, g1 = 0.0
        for i in 0..<n where w[i] != 0 {
            let wi = Double(w[i]), xi = x[i]
            let mu = 1 / (1 + exp(-(b0 + b1 * xi)))
            let v = wi * mu * (1 - mu), r = wi * (y[i] - mu)
            h00 += v; h01 += v * xi; h11 += v * xi * xi
            g0 += r; g1 += r * xi
        }
        let det = h00 * h11 - h01 * h01
        guard det > 0, det.isFinite else { return nil }
        let d0 = (h11 * g0 - h01 * g1) / det, d1 = (h00 * g1 - h01 * g0) / det
        b0 += d0; b1 += d1
        guard b0.isFinite, b1.isFinite, abs(b1) < 1e6 else { return nil }
        if max(abs(d0), abs(d1)) < 1e-10 * (1 + max(abs(b0), abs(b1))) { return (b0, b1) }
    }
    return nil
}
