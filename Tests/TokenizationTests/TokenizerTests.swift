import Testing
import TestSupport
@testable import Tokenization

@Suite struct TokenizerTests {
    let fold = Tokenizer(config: TokenizerConfig(caseFold: true))

    @Test func lettersMarksAndDigitsMakeTokensEverythingElseSeparates() {
        #expect(fold.tokens(of: "Hello, World! 24×18=432 don't e-mail x_y") ==
                ["hello", "world", "24", "18", "432", "don", "t", "e", "mail", "x", "y"])
    }

    @Test func numbersStayTokens() {
        #expect(fold.tokens(of: "In 1982, 24 of 1,000") == ["in", "1982", "24", "of", "1", "000"])
    }

    @Test func nonLatinScriptsAndCombiningMarksStayInsideTokens() {
        // "e" + U+0301 combining acute is one token; CJK runs are one token (no word segmentation).
        #expect(fold.tokens(of: "cafe\u{301} naïve 日本語です ΣΑΣ") == ["cafe\u{301}", "naïve", "日本語です", "σασ"])
    }

    @Test func caseFoldingIsPerCodePointLower() {
        // U+0130 lowercases to two code points, as Python's str.lower() does.
        #expect(fold.tokens(of: "İstanbul ÀÉÎ") == ["i\u{307}stanbul", "àéî"])
        let keep = Tokenizer(config: TokenizerConfig(caseFold: false))
        #expect(keep.tokens(of: "The THE the") == ["The", "THE", "the"])
    }

    @Test func invalidUTF8SeparatesAndIsCounted() {
        let t = Tokenizer(config: TokenizerConfig())
        let bytes: [UInt8] = [0x61, 0x62, 0xFF, 0x63, 0xE2, 0x82, 0x20, 0x64, 0xED, 0xA0, 0x80, 0x65]
        let buf = TokenBuffer()
        bytes.withUnsafeBytes { t.tokenize($0, into: buf) }
        #expect((0..<buf.count).map { buf.string($0) } == ["ab", "c", "d", "e"])
        #expect(t.invalidSequences == 5)  // FF; E2 82 (truncated); ED; A0; 80 (surrogates are invalid)
    }

    @Test func emptyAndSeparatorOnlyInputsHaveNoTokens() {
        #expect(fold.tokens(of: "").isEmpty)
        #expect(fold.tokens(of: " ,.;\n\t—").isEmpty)
    }

    @Test func agreesWithAnIndependentScalarTokenizerOnMixedScripts() {
        // Random strings over characters from many scripts and categories (all in Unicode <= 14).
        let alphabet = Array("aZ09 ,.-_'\"ßÀéΣσςЖжאבعربي日本語한국어हिन्दीไทย\u{301}\u{20AC}①½٣৪🙂\u{10400}\u{1D400}İ".unicodeScalars)
        var rng = SplitMix(seed: 42)
        for _ in 0..<300 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 40) { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let text = String(s)
            #expect(fold.tokens(of: text) == TestSupport.referenceTokens(text), "\(text)")
        }
    }

    @Test func agreesWithIndependentTokenizerOnRealText() throws {
        guard let path = TestSupport.fortunes("txt") else { return }
        let text = String(decoding: TestSupport.read(path), as: UTF8.self)
        #expect(fold.tokens(of: text) == TestSupport.referenceTokens(text))
    }

    @Test func wordAtATimeASCIIPathAgreesOnRandomBytesWithInvalidUTF8() {
        // ASCII runs of every length around the 8-byte fast path, cut by multi-byte characters,
        // lone continuation bytes, truncated sequences and overlong forms at every offset.
        let pieces: [[UInt8]] = [
            Array("ab".utf8), Array("Hello".utf8), Array("x9".utf8), Array(" ".utf8), Array(", ".utf8),
            Array("ABCDEFGHIJK".utf8), Array("é".utf8), Array("日本".utf8), Array("🙂".utf8), Array("ς".utf8),
            [0x80], [0xC3], [0xE6, 0x97], [0xF0, 0x9F, 0x99], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xFF],
        ]
        var rng = SplitMix(seed: 7)
        let t = Tokenizer(config: TokenizerConfig(caseFold: true))
        let buf = TokenBuffer()
        for _ in 0..<400 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 30) { bytes += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let before = t.invalidSequences
            bytes.withUnsafeBytes { t.tokenize($0, into: buf) }
            let got = (0..<buf.count).map { buf.string($0) }
            // Invalid sequences decode to U+FFFD (maximal subparts), a separator like any other.
            let decoded = String(decoding: bytes, as: UTF8.self)
            #expect(got == TestSupport.referenceTokens(decoded), "\(bytes)")
            #expect(t.invalidSequences - before == decoded.unicodeScalars.filter { $0 == "\u{FFFD}" }.count, "\(bytes)")
        }
    }
    @Test(arguments: [true, false])
    func wordAtATimePathClassifiesEveryASCIIByte(fold: Bool) {
        // Runs over all 128 ASCII bytes (the edges of 0-9, A-Z and a-z sit next to separators),
        // with a non-ASCII letter now and then so tokens cross between the word and byte paths.
        var rng = SplitMix(seed: fold ? 11 : 12)
        let t = Tokenizer(config: TokenizerConfig(caseFold: fold))
        let buf = TokenBuffer()
        for _ in 0..<500 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 120) {
                if rng.next() % 40 == 0 { bytes += Array("É".utf8) } else { bytes.append(UInt8(rng.next() % 128)) }
            }
            bytes.withUnsafeBytes { t.tokenize($0, into: buf) }
            let got = (0..<buf.count).map { buf.string($0) }
            #expect(got == TestSupport.referenceTokens(String(decoding: bytes, as: UTF8.self), fold: fold), "\(bytes)")
        }
    }
}
