import Testing
import TestSupport
@testable import Counting

@Suite struct VocabularyTests {
    /// Random tokens of 0-80 bytes over a small alphabet, so that many share their first 8, 16
    /// or 32 bytes and differ only later (inline keys hold 32 bytes; the rest is in the arena).
    static func tokens(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(seed: seed)
        let stems = (0..<40).map { _ in (0..<Int(rng.next() % 40)).map { _ in UInt8(97 + rng.next() % 3) } }
        return (0..<n).map { _ in
            let stem = stems[Int(rng.next() % UInt64(stems.count))]
            return stem + (0..<Int(rng.next() % 41)).map { _ in UInt8(97 + rng.next() % 3) }
        }
    }

    @Test(arguments: [true, false])
    func countsEqualADictionaryCounter(padded: Bool) {
        let docs = (0..<300).map { Self.tokens(Int($0 % 97), seed: UInt64($0)) }
        let v = Vocabulary()
        var ref: [[UInt8]: (count: UInt64, df: UInt64, id: UInt32)] = [:]
        for (d, doc) in docs.enumerated() {
            // Concatenated token bytes and ends, as the tokenizer lays them out.
            var bytes: [UInt8] = []
            var ends: [Int32] = []
            for t in doc { bytes += t; ends.append(Int32(bytes.count)) }
            let readable = padded ? bytes.count + 32 : bytes.count
            if padded { bytes += [UInt8](repeating: 0x61, count: 32) }  // not zero: masks must cut it
            var ids = [UInt32](repeating: .max, count: doc.count)
            bytes.withUnsafeBufferPointer { b in
                ends.withUnsafeBufferPointer { e in
                    ids.withUnsafeMutableBufferPointer { out in
                        v.countTokens(b.baseAddress ?? UnsafePointer(bitPattern: 1)!, ends: e.baseAddress ?? UnsafePointer(bitPattern: 4)!,
                                      count: doc.count, readable: readable, doc: UInt64(d), ids: out.baseAddress)
                    }
                }
            }
            var seen = Set<[UInt8]>()
            for (t, id) in zip(doc, ids) {
                let fresh = seen.insert(t).inserted
                if var r = ref[t] {
                    #expect(r.id == id)
                    r.count += 1
                    if fresh { r.df += 1 }
                    ref[t] = r
                } else {
                    ref[t] = (1, 1, id)
                }
            }
        }
        #expect(v.count == ref.count)
        #expect(Set(ref.values.map(\.id)).count == ref.count, "ids are distinct")
        let (counts, dfs) = v.countsById()
        for (t, r) in ref {
            #expect(Array(v.token(r.id)) == t)
            #expect(v.count(of: r.id) == r.count && counts[Int(r.id)] == r.count)
            #expect(v.df(of: r.id) == r.df && dfs[Int(r.id)] == r.df)
            #expect(t.withUnsafeBytes { v.lookup($0) } == r.id)
        }
        #expect(Array("zz-not-there".utf8).withUnsafeBytes { v.lookup($0) } == nil)
    }

    @Test func internAndCountAgreeWithCountTokens() {
        let v = Vocabulary()
        let words = Self.tokens(5000, seed: 99)
        var ids: [[UInt8]: UInt32] = [:]
        for (i, w) in words.enumerated() {
            let id = w.withUnsafeBytes { i % 2 == 0 ? v.intern($0) : v.count($0, doc: UInt64(i)) }
            if let old = ids[w] { #expect(old == id) } else { ids[w] = id }
        }
        #expect(v.count == ids.count)
        #expect(Set(ids.values) == Set(0..<UInt32(ids.count)), "ids are dense and follow first appearance")
    }
}
