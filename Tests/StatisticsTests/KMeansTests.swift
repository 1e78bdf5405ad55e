import Foundation
import Testing
@testable import Statistics

/// Unit rows around `k` random directions in `d` dimensions.
private func clustered(n: Int, d: Int, k: Int, noise: Double, seed: UInt64) -> [Float] {
    var rng = Xoshiro256(seed: seed)
    func gauss() -> Double {
        let u = (Double(rng.next() >> 11) + 0.5) * 0x1p-53, v = Double(rng.next() >> 11) * 0x1p-53
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
    let centers = (0..<k).map { _ in (0..<d).map { _ in gauss() } }
    var x: [Float] = []
    for i in 0..<n {
        var row = centers[i % k].map { $0 + noise * gauss() }
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        row = row.map { $0 / norm }
        x += row.map(Float.init)
    }
    return x
}

/// Lloyd's algorithm for cosine similarity, written out with loops in Double.
private func naiveSpherical(_ x: [Float], n: Int, d: Int, initial: [Float], iterations: Int) -> (assign: [Int], centroids: [[Double]]) {
    let k = initial.count / d
    func unit(_ v: [Double]) -> [Double] {
        let s = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return s > 0 ? v.map { $0 / s } : v
    }
    var c = (0..<k).map { j in unit((0..<d).map { Double(initial[j * d + $0]) }) }
    var assign = [Int](repeating: -1, count: n)
    for _ in 0..<iterations {
        var changed = false
        for i in 0..<n {
            var best = 0, bestS = -Double.infinity
            for j in 0..<k {
                var s = 0.0
                for t in 0..<d { s += Double(x[i * d + t]) * c[j][t] }
                if s > bestS { bestS = s; best = j }
            }
            if assign[i] != best { changed = true; assign[i] = best }
        }
        for j in 0..<k {
            var sum = [Double](repeating: 0, count: d)
            for i in 0..<n where assign[i] == j { for t in 0..<d { sum[t] += Double(x[i * d + t]) } }
            if sum.contains(where: { $0 != 0 }) { c[j] = unit(sum) }
        }
        if !changed { break }
    }
    return (assign, c)
}

@Suite struct KMeansTests {
    @Test func lloydIterationsMatchANaiveImplementationFromTheSameStart() {
        let n = 600, d = 24, k = 6
        let x = clustered(n: n, d: d, k: k, noise: 0.6, seed: 5)
        let initial = SphericalKMeans.plusPlus(x, n, d, k, 11)
        let fast = SphericalKMeans.fit(x, count: n, dims: d, initial: initial, maxIterations: 100)
        let slow = naiveSpherical(x, n: n, d: d, initial: initial, iterations: 100)
        #expect(fast.converged)
        var sizes = [Int](repeating: 0, count: k)
        for a in slow.assign { sizes[a] += 1 }
        #expect(fast.sizes == sizes)
        for j in 0..<k {
            for t in 0..<d { #expect(abs(Double(fast.centroids[j * d + t]) - slow.centroids[j][t]) < 1e-4) }
        }
        // The reported similarity is the mean of each row's dot product with its own centroid.
        var mean = 0.0
        for i in 0..<n { for t in 0..<d { mean += Double(x[i * d + t]) * slow.centroids[slow.assign[i]][t] } }
        #expect(abs(fast.meanSimilarity - mean / Double(n)) < 1e-4)
        // nearest() agrees with the naive assignment.
        var best = [Float](repeating: 0, count: n), cluster = [Int32](repeating: 0, count: n)
        var scratch = [Float](repeating: 0, count: n * k)
        x.withUnsafeBufferPointer { fast.nearest($0.baseAddress!, count: n, scratch: &scratch, best: &best, cluster: &cluster) }
        #expect(cluster.map(Int.init) == slow.assign)
    }

    @Test func recoversPlantedClustersAndIsSeeded() {
        let n = 400, d = 32, k = 4
        let x = clustered(n: n, d: d, k: k, noise: 0.05, seed: 9)
        let a = SphericalKMeans.fit(x, count: n, dims: d, k: k, seed: 1)
        let b = SphericalKMeans.fit(x, count: n, dims: d, k: k, seed: 1)
        #expect(a.centroids == b.centroids)
        #expect(a.sizes.sorted() == [100, 100, 100, 100])
        #expect(a.meanSimilarity > 0.95)
    }

    @Test func moreClustersThanRowsAndDuplicateRows() {
        // Three identical rows and one other: k is capped at n, and k-means++ still picks
        // distinct rows when all remaining distance is zero.
        let x: [Float] = [1, 0, 1, 0, 1, 0, 0, 1]
        let m = SphericalKMeans.fit(x, count: 4, dims: 2, k: 10, seed: 3)
        #expect(m.k == 4)
        #expect(m.sizes.reduce(0, +) == 4)
    }
}
