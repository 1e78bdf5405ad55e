import Testing
import TestSupport
@testable import Counting

/// Collects merged rows as "w1 w2 ..." -> (count, df).
final class CollectSink: NGramRowSink {
    var rows: [String: (UInt64, UInt64)] = [:]
    var keysInOrder: [[UInt32]] = []
    let order: Int
    init(order: Int) { self.order = order }
    func row(_ ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws {
        let k = Array(UnsafeBufferPointer(start: ids, count: order))
        keysInOrder.append(k)
        rows[k.map { "w\($0)" }.joined(separator: " ")] = (count, df)
    }
}

/// Counts `docs` (lists of small integer ids) with the given budget and workers.
func count(_ docs: [[UInt32]], maxOrder: Int, budget: Int, workers: Int, minCount: UInt64 = 1)
    throws -> (rows: [Int: CollectSink], summaries: [Int: OrderSummary], spills: Int) {
    let c = try NGramCounter(config: CounterConfig(maxOrder: maxOrder, workers: workers, tableBudget: budget, tempDir: "/tmp"))
    defer { c.removeSpillDir() }
    var batch: [UInt32] = []
    for d in docs {
        batch += d
        batch.append(documentEnd)
        if batch.count > 5000 { c.add(batch); batch = [] }
    }
    c.add(batch)
    try c.finishInput()
    var rows: [Int: CollectSink] = [:]
    var sums: [Int: OrderSummary] = [:]
    for n in 2...maxOrder {
        let s = CollectSink(order: n)
        sums[n] = try c.merge(order: n, minCount: minCount, topK: 10, sink: s)
        rows[n] = s
    }
    return (rows, sums, c.spills)
}

@Suite struct CounterTests {
    static func docs() -> [[UInt32]] {
        TestSupport.randomDocs(count: 3000, vocab: 300, maxLen: 60, seed: 11).map { $0.map { UInt32($0.dropFirst())! } }
    }

    static func reference(_ docs: [[UInt32]], _ n: Int) -> [String: (UInt64, UInt64)] {
        let counts = TestSupport.referenceCounts(docs.map { $0.map { "w\($0)" } }, maxOrder: n)
        var out: [String: (UInt64, UInt64)] = [:]
        for (k, v) in counts where k.hasPrefix("\(n)\t") { out[String(k.dropFirst(2))] = v }
        return out
    }

    @Test(arguments: [1, 2])
    func spilledCountsEqualUnspilledAndTheReference(workers: Int) throws {
        let docs = Self.docs()
        let big = try count(docs, maxOrder: 5, budget: 256 << 20, workers: workers)
        let tiny = try count(docs, maxOrder: 5, budget: 200_000, workers: workers)
        #expect(big.spills == 0)
        #expect(tiny.spills > 10)
        for n in 2...5 {
            let ref = Self.reference(docs, n)
            let a = big.rows[n]!.rows, b = tiny.rows[n]!.rows
            #expect(a.count == ref.count)
            #expect(b.count == ref.count)
            for (k, v) in ref {
                #expect(a[k]?.0 == v.0 && a[k]?.1 == v.1, "order \(n) \(k)")
                #expect(b[k]?.0 == v.0 && b[k]?.1 == v.1, "order \(n) \(k) (spilled)")
            }
            // Rows arrive in ascending id-tuple order (what the index's primary key wants).
            let keys = tiny.rows[n]!.keysInOrder
            #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
        }
    }

    @Test func nGramsDoNotCrossDocumentEnds() throws {
        let r = try count([[1, 2], [3, 4]], maxOrder: 2, budget: 1 << 20, workers: 1)
        #expect(Set(r.rows[2]!.rows.keys) == ["w1 w2", "w3 w4"])
    }

    @Test func documentFrequencyCountsEachDocumentOnce() throws {
        let r = try count([[7, 8, 7, 8, 7, 8], [7, 8]], maxOrder: 3, budget: 1 << 20, workers: 1)
        #expect(r.rows[2]!.rows["w7 w8"]! == (4, 2))
        #expect(r.rows[2]!.rows["w8 w7"]! == (2, 1))
        #expect(r.rows[3]!.rows["w7 w8 w7"]! == (2, 1))
    }

    @Test func minCountDropsRowsButSummariesCountEverything() throws {
        let docs = Self.docs()
        let r = try count(docs, maxOrder: 3, budget: 1 << 20, workers: 2, minCount: 3)
        let ref = Self.reference(docs, 3)
        #expect(r.summaries[3]!.types == UInt64(ref.count))
        #expect(r.summaries[3]!.total == ref.values.reduce(0) { $0 + $1.0 })
        #expect(r.summaries[3]!.hapax == UInt64(ref.values.filter { $0.0 == 1 }.count))
        #expect(r.rows[3]!.rows.count == ref.values.filter { $0.0 >= 3 }.count)
        #expect(r.summaries[3]!.stored == UInt64(r.rows[3]!.rows.count))
    }

    @Test func topListIsMostFrequentFirst() throws {
        let docs = Self.docs()
        let r = try count(docs, maxOrder: 2, budget: 300_000, workers: 2)
        let ref = Self.reference(docs, 2)
        let counts = r.summaries[2]!.top.map(\.count)
        #expect(counts == ref.values.map(\.0).sorted(by: >).prefix(10).map { $0 })
    }
}
