import COpenBLAS

/// Spherical k-means (cosine similarity) on unit-length rows: the clustering behind the
/// prototype difficulty score of Sorscher et al. (2022), where a point's difficulty is its cosine
/// distance to the nearest centroid.
///
/// Lloyd iterations: every row goes to the centroid with the largest dot product (one `sgemm`
/// of the rows against the centroids), and every centroid becomes the normalized sum of its rows.
/// Iterations stop when at most `tolerance` of the rows changed cluster (0: none), or after
/// `maxIterations`.
/// Initialization is k-means++ on cosine distance with a seeded generator, so a fit is a
/// function of (rows, k, seed). A cluster that empties is re-seeded with the row farthest from
/// its centroid.
/// - Complexity: O(n k d) per iteration (BLAS level 3), O(n k d) for initialization;
///   memory n k floats for the similarities besides the input.
public struct SphericalKMeans: Sendable {
    public let k: Int
    public let dims: Int
    /// k × dims, row-major, unit rows.
    public private(set) var centroids: [Float]
    /// Rows assigned to each centroid in the final assignment.
    public private(set) var sizes: [Int]
    public private(set) var iterations = 0
    /// Whether the last iteration changed at most `tolerance` of the assignments.
    public private(set) var converged = false
    /// Mean cosine similarity of the rows to their centroid.
    public private(set) var meanSimilarity = 0.0

    /// Fits `k` centroids (at most `n`) to the `n` unit rows of `x` (n × dims, row-major).
    public static func fit(_ x: [Float], count n: Int, dims: Int, k: Int, seed: UInt64,
                           maxIterations: Int = 50, tolerance: Double = 0) -> SphericalKMeans {
        precondition(n > 0 && k > 0 && x.count == n * dims)
        let k = min(k, n)
        return fit(x, count: n, dims: dims, initial: plusPlus(x, n, dims, k, seed), maxIterations: maxIterations,
                   tolerance: tolerance)
    }

    /// Runs Lloyd iterations from the given centroids (k × dims; normalized here).
    public static func fit(_ x: [Float], count n: Int, dims: Int, initial: [Float],
                           maxIterations: Int = 50, tolerance: Double = 0) -> SphericalKMeans {
        let k = initial.count / dims
        var m = SphericalKMeans(k: k, dims: dims, centroids: initial)
        for c in 0..<k { m.normalize(row: c) }
        var assign = [Int32](repeating: -1, count: n)
        var best = [Float](repeating: 0, count: n)
        var sims = [Float](repeating: 0, count: n * k)
        while m.iterations < maxIterations {
            m.iterations += 1
            m.similarities(x, n, into: &sims)
            var changed = 0
            for i in 0..<n {
                var a = 0
                var s = sims[i * k]
                for c in 1..<max(k, 1) where sims[i * k + c] > s { s = sims[i * k + c]; a = c }
                if assign[i] != Int32(a) { changed += 1; assign[i] = Int32(a) }
                best[i] = s
            }
            // Re-seed empty clusters with the rows farthest from their centroids.
            var sizes = [Int](repeating: 0, count: k)
            for a in assign { sizes[Int(a)] += 1 }
            var taken = Set<Int>()
            for c in 0..<k where sizes[c] == 0 {
                var far = -1
                for i in 0..<n where sizes[Int(assign[i])] > 1 && !taken.contains(i) && (far < 0 || best[i] < best[far]) { far = i }
                guard far >= 0 else { continue }
                taken.insert(far)
                sizes[Int(assign[far])] -= 1
                assign[far] = Int32(c)
                sizes[c] = 1
                best[far] = 1
                changed += 1
            }
            m.update(x, n, assign)
            m.sizes = sizes
            if Double(changed) <= tolerance * Double(n) { m.converged = true; break }
        }
        // Final similarities against the final centroids.
        m.similarities(x, n, into: &sims)
        var total = 0.0
        for i in 0..<n { total += Double(sims[i * k + Int(assign[i])]) }
        m.meanSimilarity = total / Double(n)
        return m
    }

    init(k: Int, dims: Int, centroids: [Float]) {
        self.k = k
        self.dims = dims
        self.centroids = centroids
        sizes = [Int](repeating: 0, count: k)
    }

    private mutating func normalize(row c: Int) {
        var s: Float = 0
        for j in 0..<dims { s += centroids[c * dims + j] * centroids[c * dims + j] }
        let inv = s > 0 ? 1 / s.squareRoot() : 0
        for j in 0..<dims { centroids[c * dims + j] *= inv }
    }

    /// sims (n × k) = x (n × d) · centroidsᵀ.
    private func similarities(_ x: [Float], _ n: Int, into sims: inout [Float]) {
        x.withUnsafeBufferPointer { xp in
            centroids.withUnsafeBufferPointer { cp in
                sims.withUnsafeMutableBufferPointer { sp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(k), Int32(dims),
                                1, xp.baseAddress, Int32(dims), cp.baseAddress, Int32(dims), 0, sp.baseAddress, Int32(k))
                }
            }
        }
    }

    private mutating func update(_ x: [Float], _ n: Int, _ assign: [Int32]) {
        var sums = [Float](repeating: 0, count: k * dims)
        x.withUnsafeBufferPointer { xp in
            sums.withUnsafeMutableBufferPointer { sp in
                for i in 0..<n {
                    cblas_saxpy(Int32(dims), 1, xp.baseAddress! + i * dims, 1, sp.baseAddress! + Int(assign[i]) * dims, 1)
                }
            }
        }
        for c in 0..<k {
            var s = 0.0
            for j in 0..<dims { s += Double(sums[c * dims + j]) * Double(sums[c * dims + j]) }
            // A cluster whose rows cancel out keeps its previous centroid.
            guard s > 0 else { continue }
            let inv = Float(1 / s.squareRoot())
            for j in 0..<dims { centroids[c * dims + j] = sums[c * dims + j] * inv }
        }
    }

    /// k-means++ on cosine distance: the first centroid is a uniform row, each next one a row
    /// drawn with probability proportional to its squared distance to the nearest chosen one.
    static func plusPlus(_ x: [Float], _ n: Int, _ d: Int, _ k: Int, _ seed: UInt64) -> [Float] {
        var rng = Xoshiro256(seed: seed)
        var chosen = [Int(rng.next() % UInt64(n))]
        var dist = [Double](repeating: .infinity, count: n)
        var dots = [Float](repeating: 0, count: n)
        while chosen.count < k {
            let c = chosen.last!
            x.withUnsafeBufferPointer { xp in
                dots.withUnsafeMutableBufferPointer { dp in
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(d), 1, xp.baseAddress, Int32(d),
                                xp.baseAddress! + c * d, 1, 0, dp.baseAddress, 1)
                }
            }
            var total = 0.0
            for i in 0..<n {
                let dd = max(0, 1 - Double(dots[i]))
                dist[i] = min(dist[i], dd * dd)
                total += dist[i]
            }
            // All remaining rows coincide with chosen ones: take the lowest unchosen index.
            guard total > 0 else {
                let used = Set(chosen)
                chosen.append((0..<n).first { !used.contains($0) }!)
                continue
            }
            var r = Double(rng.next() >> 11) * 0x1p-53 * total
            var pick = n - 1
            for i in 0..<n {
                r -= dist[i]
                if r < 0 && dist[i] > 0 { pick = i; break }
            }
            chosen.append(pick)
        }
        var out = [Float](repeating: 0, count: k * d)
        for (c, i) in chosen.enumerated() { for j in 0..<d { out[c * d + j] = x[i * d + j] } }
        return out
    }

    /// For each of the `m` unit rows of `x`: the largest cosine similarity to a centroid (into
    /// `best`) and that centroid (into `cluster`). `scratch` holds m × k floats.
    public func nearest(_ x: UnsafePointer<Float>, count m: Int, scratch: UnsafeMutablePointer<Float>,
                        best: UnsafeMutablePointer<Float>, cluster: UnsafeMutablePointer<Int32>) {
        if m == 0 { return }
        centroids.withUnsafeBufferPointer { cp in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(k), Int32(dims),
                        1, x, Int32(dims), cp.baseAddress, Int32(dims), 0, scratch, Int32(k))
        }
        for i in 0..<m {
            var a = 0
            var s = scratch[i * k]
            for c in 1..<max(k, 1) where scratch[i * k + c] > s { s = scratch[i * k + c]; a = c }
            best[i] = s
            cluster[i] = Int32(a)
        }
    }

    /// Sets how many threads OpenBLAS uses (1 while several threads call it at once).
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }
}

/// OpenBLAS's worker threads.
public enum BLASThreads {
    /// Stops OpenBLAS's worker threads until a BLAS call wants them again.
    ///
    /// The pthreads build starts one worker per extra core when the library is loaded, and each
    /// spins on sched_yield for about 2^28 cycles (~0.1 s) before it sleeps. Every tailscope
    /// command loads OpenBLAS but only k-means (`prune --keep`) calls it with work to split, so
    /// the CLI calls this first thing: in `index --orders 1` the spinning took CPU from the
    /// reader and counting threads (0.1-0.4 s of a 2-2.7 s run, measured with
    /// OPENBLAS_NUM_THREADS=1 against the default).
    public static func stopIdle() { _ = blas_thread_shutdown_() }
}
