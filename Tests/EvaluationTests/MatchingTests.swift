import Testing
@testable import Matching
import Statistics

/// The two matchers of the Matching module agree: the rolling-hash n-gram set (prune's
/// decontamination) finds a pattern in a document exactly when the automaton (the contamination
/// scan, cooccur) does, and the first one it reports is one the automaton finds there too.
@Suite struct MatchingTests {
    @Test func theNGramSetAndTheAutomatonFindTheSameDocuments() {
        var rng = Xoshiro256(seed: 13)
        for n in [1, 3, 5] {
            let alphabet: UInt64 = n == 5 ? 3 : 12   // long patterns need few tokens to occur at all
            let patterns: [[UInt32]] = (0..<40).map { _ in (0..<n).map { _ in UInt32(rng.next() % alphabet) } }
            let set = NGramSet(n: n, patterns: patterns)
            let matcher = TokenMatcher(TokenAutomaton(patterns: patterns), tokens: 12)
            var agreed = 0, hits = 0
            for _ in 0..<500 {
                // -1 marks a token no pattern has (it breaks every window).
                let doc: [Int32] = (0..<Int(rng.next() % 30)).map { _ in rng.next() % 9 == 0 ? -1 : Int32(rng.next() % alphabet) }
                let first = doc.withUnsafeBufferPointer { set.first(in: $0.baseAddress!, count: doc.count) }
                doc.withUnsafeBufferPointer { matcher.match(ids: $0.baseAddress!, count: doc.count) }
                let found = Set(matcher.matchPattern)
                // Duplicate patterns share one n-gram: compare by the n-gram, not the index.
                let foundGrams = Set(found.map { patterns[Int($0)] })
                #expect((first >= 0) == !found.isEmpty, "n=\(n) \(doc)")
                if first >= 0 { #expect(foundGrams.contains(patterns[Int(first)])); hits += 1 }
                agreed += 1
            }
            #expect(agreed == 500 && hits > 20)
        }
    }
}
