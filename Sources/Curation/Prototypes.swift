/// The k-means fit of `--keep hard|easy`, for the report and the manifest.
public struct PrototypeFit: Sendable {
    public var sampled: Int
    public var clusters: Int
    public var iterations: Int
    public var converged: Bool
    public var meanSimilarity: Double
    public var sizes: [Int]
    public var seconds: Double
}

/// A bottom-k sample of document vectors by priority: the `capacity` documents with the
/// smallest priority among those offered. Which documents it holds depends only on the
/// priorities, not on the order they are offered in.
/// - Complexity: `offer` O(log capacity + dims); memory capacity × dims floats.
struct PrototypeSample {
    let capacity: Int
    let dims: Int
    private var vectors: [Float] = []
    /// Max-heap on priority: (priority, doc, slot in `vectors`).
    private var heap: [(priority: Double, doc: Int64, slot: Int)] = []

    init(capacity: Int, dims: Int) {
        self.capacity = capacity
        self.dims = dims
    }

    var count: Int { heap.count }
    var isFull: Bool { heap.count == capacity }
    /// The largest priority held: a document at or above it cannot enter a full sample.
    var threshold: Double { heap.first?.priority ?? 1 }

    mutating func offer(doc: Int64, priority: Double, vector: UnsafePointer<Float>) {
        if heap.count < capacity {
            let slot = heap.count
            vectors.append(contentsOf: UnsafeBufferPointer(start: vector, count: dims))
            heap.append((priority, doc, slot))
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard heap[parent].priority < heap[i].priority else { break }
                heap.swapAt(parent, i)
                i = parent
            }
            return
        }
        guard priority < heap[0].priority else { return }
        let slot = heap[0].slot
        for j in 0..<dims { vectors[slot * dims + j] = vector[j] }
        heap[0] = (priority, doc, slot)
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].priority > heap[m].priority { m = l }
            if r < heap.count && heap[r].priority > heap[m].priority { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }

    /// The sampled vectors as rows (count × dims) in document order, and their documents.
    func rows() -> ([Float], [Int64]) {
        let order = heap.sorted { $0.doc < $1.doc }
        var x = [Float]()
        x.reserveCapacity(order.count * dims)
        for e in order { x.append(contentsOf: vectors[(e.slot * dims)..<((e.slot + 1) * dims)]) }
        return (x, order.map(\.doc))
    }
}
