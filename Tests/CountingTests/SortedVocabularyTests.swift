import Testing
import TestSupport
@testable import Counting

@Suite struct SortedVocabularyTests {
    /// Tokens over bytes that include 0x00 and 0xFF, 0-20 bytes long, many sharing their first
    /// 8 bytes, so the prefix sort must fall back to full comparisons.
    static func tokens(_ n: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(seed: seed)
        let alphabet: [UInt8] = [0x00, 0x41, 0x61, 0x62, 0x7F, 0x80, 0xC3, 0xFF]
        let stem = (0..<8).map { _ in alphabet[Int(rng.next() % 8)] }
        return (0..<n).map { _ in
            let len = Int(rng.next() % 21)
            let shared = rng.next() % 2 == 0
            return (0..<len).map { j in shared && j < 8 ? stem[j] : alphabet[Int(rng.next() % 8)] }
        }
    }

    /// Counts each token list into its own vocabulary, one document per 7 tokens.
    static func count(_ lists: [[[UInt8]]]) -> [Vocabulary] {
        lists.map { list in
            let v = Vocabulary()
            for (i, t) in list.enumerated() {
                _ = t.withUnsafeBytes { v.count($0, doc: UInt64(i / 7)) }
            }
            return v
        }
    }

    @Test func orderIsByteOrderWithShorterFirst() {
        let v = Self.count([Self.tokens(3000, seed: 1)])[0]
        let s = SortedVocabulary(v)
        let sorted = (0..<s.count).map { Array(s.token(at: $0)) }
        #expect(sorted.count == v.count)
        #expect(Set(s.order).count == v.count)
        for k in 1..<sorted.count {
            #expect(sorted[k - 1].lexicographicallyPrecedes(sorted[k]))
        }
        for i in 0..<s.count {
            let id = s.order[i]
            #expect(Array(v.token(id)) == sorted[i])
            #expect(s.counts[i] == v.count(of: id))
            #expect(s.dfs[i] == v.df(of: id))
            #expect(s.string(at: i) == v.string(id))
        }
    }

    @Test func mergeSumsCountsOverVocabulariesInByteOrder() {
        let lists = (0..<3).map { Self.tokens(1500 + 400 * $0, seed: UInt64(10 + $0)) }
        let vocabs = Self.count(lists)
        // Reference: per-list dictionaries (document = 7 tokens), summed.
        var ref: [[UInt8]: (count: UInt64, df: UInt64, first: Int)] = [:]
        for (k, list) in lists.enumerated() {
            var docsSeen: [[UInt8]: Set<Int>] = [:]
            for (i, t) in list.enumerated() { docsSeen[t, default: []].insert(i / 7) }
            for (t, docs) in docsSeen {
                let c = UInt64(list.filter { $0 == t }.count)
                let old = ref[t] ?? (0, 0, k)
                ref[t] = (old.count + c, old.df + UInt64(docs.count), old.first)
            }
        }
        var got: [([UInt8], UInt64, UInt64, Int)] = []
        let parts = vocabs.map(SortedVocabulary.init)
        SortedVocabulary.mergeSorted(parts) { tok, c, df, part, position in
            #expect(Array(vocabs[part].token(parts[part].order[position])) == Array(tok))
            got.append((Array(tok), c, df, part))
        }
        #expect(got.count == ref.count)
        for k in 1..<got.count { #expect(got[k - 1].0.lexicographicallyPrecedes(got[k].0)) }
        for (t, c, df, part) in got {
            #expect(ref[t]?.count == c)
            #expect(ref[t]?.df == df)
            #expect(ref[t]?.first == part)
        }
    }

    @Test func mergeOfEmptyAndSingleVocabularies() {
        var n = 0
        SortedVocabulary.mergeSorted([SortedVocabulary(Vocabulary())]) { _, _, _, _, _ in n += 1 }
        #expect(n == 0)
        let v = Self.count([[[0x62], [0x61], [0x61, 0x00], [0x61]]])[0]
        var rows: [([UInt8], UInt64)] = []
        SortedVocabulary.mergeSorted([SortedVocabulary(Vocabulary()), SortedVocabulary(v)]) { t, c, _, part, _ in
            #expect(part == 1)
            rows.append((Array(t), c))
        }
        #expect(rows.map(\.0) == [[0x61], [0x61, 0x00], [0x62]])
        #expect(rows.map(\.1) == [2, 1, 1])
    }
}
