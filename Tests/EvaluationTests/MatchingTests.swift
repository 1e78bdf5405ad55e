import Testing
@testable import Matching
import Statistics
import Counting
import Tokenization

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

    /// Matching tokenized text (each token looked up by its bytes in the matcher's own table)
    /// finds what matching the same tokens' ids finds, with ids from a dictionary. Words of 1 to
    /// 40 bytes, many sharing their first 8, 16 or 32 bytes and differing after, some absent.
    @Test func matchingTextEqualsMatchingIds() {
        var rng = Xoshiro256(seed: 29)
        let stems = ["a", "of", "internationalization", "internationalizations", "abcdefghijklmnop", "abcdefghijklmnopq",
                     "abcdefghijklmnopqrstuvwxyzabcdefgh", "abcdefghijklmnopqrstuvwxyzabcdefghij", "12", "1234567", "12345678",
                     "123456789", "é", "naïve", "zürich", "x"]
        var words = stems
        for s in stems where s.count > 2 { words.append(s + "z"); words.append(String(s.dropLast()) + "y") }
        let tokenizer = Tokenizer(config: TokenizerConfig())
        for trial in 0..<30 {
            let vocab = Vocabulary()
            var ids: [String: Int32] = [:]
            func id(_ w: String) -> UInt32 {
                var b = Array(w.utf8)
                let i = b.withUnsafeMutableBytes { vocab.intern(UnsafeRawBufferPointer($0)) }
                ids[w] = Int32(i)
                return i
            }
            // Patterns of 1-3 words from a random half of the words (the rest stay absent).
            let known = words.filter { _ in rng.next() % 2 == 0 }
            guard !known.isEmpty else { continue }
            let patterns: [[UInt32]] = (0..<(5 + Int(rng.next() % 20))).map { _ in
                (0..<(1 + Int(rng.next() % 3))).map { _ in id(known[Int(rng.next() % UInt64(known.count))]) }
            }
            let automaton = TokenAutomaton(patterns: patterns)
            let byText = TokenMatcher(automaton, vocabulary: vocab)
            let byIds = TokenMatcher(automaton, tokens: vocab.count)
            let text = (0..<200).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
            let tokens = TokenBuffer()
            Array(text.utf8).withUnsafeBytes { tokenizer.tokenize($0, into: tokens) }
            let docIds = (0..<tokens.count).map { ids[tokens.string($0)] ?? -1 }
            byText.match(tokens)
            docIds.withUnsafeBufferPointer { byIds.match(ids: $0.baseAddress!, count: docIds.count) }
            #expect(Array(byText.matchPattern) == Array(byIds.matchPattern), "trial \(trial)")
            #expect(Array(byText.matchEnd) == Array(byIds.matchEnd), "trial \(trial)")
            #expect(trial > 0 || !byIds.matchPattern.isEmpty)
        }
    }

    /// Every occurrence of every pattern, by the text path and by the ids path, equals a plain
    /// scan of every end position against every pattern: with repeated patterns (a state with
    /// several patterns), tokens that only start longer patterns, nested and overlapping
    /// patterns, and far more pattern tokens than the table's first probe can tell apart.
    @Test func matchingEqualsAPlainScan() {
        var rng = Xoshiro256(seed: 41)
        let tokenizer = Tokenizer(config: TokenizerConfig())
        for trial in 0..<40 {
            let words = (0..<(4 + Int(rng.next() % 300))).map { "w\($0)" + (rng.next() % 4 == 0 ? "-long-tail-of-letters".replacingOccurrences(of: "-", with: "") : "") }
            let vocab = Vocabulary()
            let ids = words.map { w -> UInt32 in
                var b = Array(w.utf8)
                return b.withUnsafeMutableBytes { vocab.intern(UnsafeRawBufferPointer($0)) }
            }
            // Few distinct words in the patterns and the text, so that patterns occur; some
            // patterns repeated, some sharing prefixes.
            let alphabet = min(words.count, 3 + Int(rng.next() % 12))
            var patterns: [[UInt32]] = (0..<(1 + Int(rng.next() % 25))).map { _ in
                (0..<(1 + Int(rng.next() % 4))).map { _ in ids[Int(rng.next() % UInt64(alphabet))] }
            }
            patterns += patterns.prefix(Int(rng.next() % 3))
            let automaton = TokenAutomaton(patterns: patterns)
            let byText = TokenMatcher(automaton, vocabulary: vocab)
            let byIds = TokenMatcher(automaton, tokens: vocab.count)
            // Text over the alphabet, words outside the patterns and words no pattern has.
            let text = (0..<(Int(rng.next() % 120))).map { _ -> String in
                rng.next() % 10 == 0 ? "absent\(rng.next() % 5)" : words[Int(rng.next() % UInt64(min(words.count, alphabet + 2)))]
            }
            let tokens = TokenBuffer()
            Array(text.joined(separator: " ").utf8).withUnsafeBytes { tokenizer.tokenize($0, into: tokens) }
            let docIds: [Int32] = (0..<tokens.count).map { i in words.firstIndex(of: tokens.string(i)).map { Int32(ids[$0]) } ?? -1 }
            var expected: [String] = []
            for end in 0..<docIds.count {
                for (p, pat) in patterns.enumerated() where pat.count <= end + 1 {
                    if zip(pat, docIds[(end + 1 - pat.count)...(end)]).allSatisfy({ Int32($0) == $1 }) { expected.append("\(end):\(p)") }
                }
            }
            byText.match(tokens)
            docIds.withUnsafeBufferPointer { byIds.match(ids: $0.baseAddress!, count: docIds.count) }
            let text1 = zip(byText.matchEnd, byText.matchPattern).map { "\($0):\($1)" }
            let ids1 = zip(byIds.matchEnd, byIds.matchPattern).map { "\($0):\($1)" }
            #expect(text1.sorted() == expected.sorted(), "trial \(trial)")
            #expect(ids1.sorted() == expected.sorted(), "trial \(trial)")
            // A matcher sharing another's tables matches the same, after that one is gone, and
            // its matches are its own (the source's stay as they were).
            var source: TokenMatcher? = TokenMatcher(automaton, vocabulary: vocab)
            let sharing = TokenMatcher(sharingTablesOf: source!)
            source!.match(TokenBuffer())
            sharing.match(tokens)
            #expect(source!.matchPattern.isEmpty)
            source = nil
            let again = TokenBuffer()
            Array(text.joined(separator: " ").utf8).withUnsafeBytes { tokenizer.tokenize($0, into: again) }
            sharing.match(again)
            #expect(zip(sharing.matchEnd, sharing.matchPattern).map { "\($0):\($1)" }.sorted() == expected.sorted(), "trial \(trial)")
        }
    }
}
