/// Tokenizer settings. They are recorded in every index; queries and later stages tokenize with
/// the index's settings, and indexes with different settings are never combined.
public struct TokenizerConfig: Sendable, Equatable, Hashable {
    /// Map every code point with Python's `str.lower()` (applied to that code point alone).
    public var caseFold: Bool

    public init(caseFold: Bool = true) { self.caseFold = caseFold }

    /// The name stored in the index.
    public static let name = "unicode-words-v1"

    /// A one-line description, stored in the index next to `name`.
    public var description: String {
        "\(Self.name): maximal runs of code points in L*, M*, Nd (Unicode \(tokenizerUnicodeVersion)); "
            + (caseFold ? "case folded per code point with str.lower()" : "case kept")
            + "; invalid UTF-8 is a separator"
    }
}

/// Tokens of one document: concatenated bytes plus end offsets.
///
/// - Complexity: appending is amortized O(1); memory is the document's token bytes.
public final class TokenBuffer {
    public private(set) var bytes: UnsafeMutablePointer<UInt8>
    public private(set) var ends: UnsafeMutablePointer<Int32>
    public internal(set) var count = 0
    private var byteCap: Int
    private var tokenCap: Int

    /// Zeroed bytes after the capacity, so a reader may load 32 bytes from any token's start.
    public static let padding = 32

    /// `bytes`: the initial capacity (it grows as documents need).
    public init(bytes initial: Int = 1 << 16) {
        byteCap = max(64, initial)
        tokenCap = max(16, initial / 4)
        bytes = Self.allocateBytes(byteCap)
        ends = .allocate(capacity: tokenCap)
    }

    private static func allocateBytes(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: n + padding)
        p.initialize(repeating: 0, count: n + padding)
        return p
    }

    /// Bytes that may be read from `bytes` (the capacity plus the padding).
    public var readableBytes: Int { byteCap + Self.padding }

    deinit {
        bytes.deallocate()
        ends.deallocate()
    }

    /// Makes room for a document of `n` input bytes (tokens never take more than 1.5x the input).
    @usableFromInline func prepare(forInputBytes n: Int) {
        count = 0
        let need = n + n / 2 + 8
        if need > byteCap {
            bytes.deallocate()
            byteCap = need
            bytes = Self.allocateBytes(byteCap)
        }
        let needT = n / 2 + 2
        if needT > tokenCap {
            ends.deallocate()
            tokenCap = needT
            ends = .allocate(capacity: tokenCap)
        }
    }

    /// The bytes of token `i`.
    @inline(__always) public func token(_ i: Int) -> UnsafeRawBufferPointer {
        let s = i == 0 ? 0 : Int(ends[i - 1])
        return UnsafeRawBufferPointer(start: bytes + s, count: Int(ends[i]) - s)
    }

    /// Token `i` as a String (for output, not for hot loops).
    public func string(_ i: Int) -> String {
        String(decoding: token(i), as: UTF8.self)
    }
}

/// Splits UTF-8 bytes into tokens: maximal runs of letters (L*), marks (M*) and decimal digits
/// (Nd); everything else separates, including invalid UTF-8, which is counted.
///
/// Works on bytes with lookup tables: ASCII through a 256-entry table, the Basic Multilingual
/// Plane through a 64 Ki-bit set and a 64 Ki-entry lowercase table, the rest by binary search.
/// - Complexity: O(bytes). About 0.5 MB of tables, built once per tokenizer.
public final class Tokenizer {
    public let config: TokenizerConfig
    /// ASCII byte -> output byte (lowercased when folding), or 0 for a separator.
    private let ascii: UnsafeMutablePointer<UInt8>
    private let bmpBits: UnsafeMutablePointer<UInt64>
    /// BMP code point -> lowercase code point, 0 when unchanged, 0xFFFFFFFF when several.
    private let bmpLower: UnsafeMutablePointer<UInt32>
    private let astralRanges: [UInt32]
    private let astralLower: [UInt32: UInt32]
    private let multiLower: [UInt32: [UInt8]]

    /// Invalid UTF-8 sequences seen (each replaced by a separator), summed over all calls.
    public private(set) var invalidSequences = 0
    /// The tokens of `tokens(of:)`, reused from call to call.
    private lazy var scratch = TokenBuffer(bytes: 256)

    public init(config: TokenizerConfig) {
        self.config = config
        ascii = .allocate(capacity: 256)
        ascii.initialize(repeating: 0, count: 256)
        for b in 0..<128 {
            let c = UInt8(b)
            if (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) {
                ascii[b] = c
            } else if c >= 0x41 && c <= 0x5A {
                ascii[b] = config.caseFold ? c + 0x20 : c
            }
        }
        bmpBits = .allocate(capacity: 1024)
        bmpBits.initialize(repeating: 0, count: 1024)
        var astral: [UInt32] = []
        var k = 0
        while k < tokenCharRanges.count {
            let lo = tokenCharRanges[k], hi = tokenCharRanges[k + 1]
            k += 2
            if lo <= 0xFFFF {
                for cp in lo...min(hi, 0xFFFF) { bmpBits[Int(cp >> 6)] |= 1 << UInt64(cp & 63) }
            }
            if hi > 0xFFFF {
                astral.append(max(lo, 0x10000))
                astral.append(hi)
            }
        }
        astralRanges = astral
        bmpLower = .allocate(capacity: 0x10000)
        bmpLower.initialize(repeating: 0, count: 0x10000)
        var al: [UInt32: UInt32] = [:]
        var ml: [UInt32: [UInt8]] = [:]
        if config.caseFold {
            k = 0
            while k < lowercasePairs.count {
                let cp = lowercasePairs[k], low = lowercasePairs[k + 1]
                k += 2
                if cp <= 0xFFFF { bmpLower[Int(cp)] = low } else { al[cp] = low }
            }
            for (cp, bytes) in lowercaseMulti {
                if cp <= 0xFFFF { bmpLower[Int(cp)] = 0xFFFF_FFFF }
                ml[cp] = bytes
            }
        }
        astralLower = al
        multiLower = ml
    }

    deinit {
        ascii.deallocate()
        bmpBits.deallocate()
        bmpLower.deallocate()
    }

    @inline(__always) private func isTokenChar(_ cp: UInt32) -> Bool {
        if cp <= 0xFFFF { return bmpBits[Int(cp >> 6)] & (1 << UInt64(cp & 63)) != 0 }
        var lo = 0, hi = astralRanges.count / 2 - 1
        while lo <= hi {
            let mid = (lo + hi) >> 1
            if cp < astralRanges[2 * mid] { hi = mid - 1 }
            else if cp > astralRanges[2 * mid + 1] { lo = mid + 1 }
            else { return true }
        }
        return false
    }

    /// Tokenizes one document into `out` (which is cleared first).
    public func tokenize(_ text: UnsafeRawBufferPointer, into out: TokenBuffer) {
        let n = text.count
        out.prepare(forInputBytes: n)
        guard n > 0, let base = text.baseAddress else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let o = out.bytes
        let ends = out.ends
        let asc = ascii
        var w = 0          // write position in out.bytes
        var cnt = 0        // tokens finished
        var inTok = 0      // 1 while a token is open (its bytes end at w)
        var i = 0
        let fold = config.caseFold
        while i < n {
            // Eight ASCII bytes at a time without branches: every byte's mapped value is
            // stored at w, and w moves only past token bytes; a token ends where a token byte is
            // followed by a separator.
            while i + 8 <= n {
                let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                for k in 0..<8 {
                    let m = asc[Int(truncatingIfNeeded: word >> UInt64(8 * k)) & 0xFF]
                    o[w] = m
                    let t = m != 0 ? 1 : 0
                    w &+= t
                    ends[cnt] = Int32(truncatingIfNeeded: w)
                    cnt &+= inTok & (t ^ 1)
                    inTok = t
                }
                i += 8
            }
            if i >= n { break }
            let b = p[i]
            if b < 0x80 {
                let m = asc[Int(b)]
                if m != 0 {
                    o[w] = m
                    w += 1
                    inTok = 1
                } else if inTok != 0 {
                    ends[cnt] = Int32(truncatingIfNeeded: w)
                    cnt += 1
                    inTok = 0
                }
                i += 1
                continue
            }
            // Decode one UTF-8 sequence, validating as the Unicode standard requires.
            var cp: UInt32 = 0
            var len = 0
            var valid = false
            if b >= 0xC2 && b <= 0xDF {
                if i + 1 < n, p[i + 1] & 0xC0 == 0x80 {
                    cp = UInt32(b & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)
                    len = 2; valid = true
                } else { len = 1 }
            } else if b >= 0xE0 && b <= 0xEF {
                let lo: UInt8 = b == 0xE0 ? 0xA0 : 0x80
                let hi: UInt8 = b == 0xED ? 0x9F : 0xBF
                if i + 1 < n, p[i + 1] >= lo, p[i + 1] <= hi {
                    if i + 2 < n, p[i + 2] & 0xC0 == 0x80 {
                        cp = UInt32(b & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
                        len = 3; valid = true
                    } else { len = 2 }
                } else { len = 1 }
            } else if b >= 0xF0 && b <= 0xF4 {
                let lo: UInt8 = b == 0xF0 ? 0x90 : 0x80
                let hi: UInt8 = b == 0xF4 ? 0x8F : 0xBF
                if i + 1 < n, p[i + 1] >= lo, p[i + 1] <= hi {
                    if i + 2 < n, p[i + 2] & 0xC0 == 0x80 {
                        if i + 3 < n, p[i + 3] & 0xC0 == 0x80 {
                            cp = UInt32(b & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12
                                | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
                            len = 4; valid = true
                        } else { len = 3 }
                    } else { len = 2 }
                } else { len = 1 }
            } else {
                len = 1
            }
            if valid && isTokenChar(cp) {
                inTok = 1
                var low: UInt32 = 0
                if fold {
                    low = cp <= 0xFFFF ? bmpLower[Int(cp)] : (astralLower[cp] ?? 0)
                }
                if low == 0 {
                    for k in 0..<len { o[w + k] = p[i + k] }
                    w += len
                } else if low == 0xFFFF_FFFF {
                    for byte in multiLower[cp]! { o[w] = byte; w += 1 }
                } else {
                    w += writeUTF8(low, o + w)
                }
            } else {
                if !valid { invalidSequences += 1 }
                if inTok != 0 {
                    ends[cnt] = Int32(truncatingIfNeeded: w)
                    cnt += 1
                    inTok = 0
                }
            }
            i += len
        }
        if inTok != 0 {
            ends[cnt] = Int32(truncatingIfNeeded: w)
            cnt += 1
        }
        out.count = cnt
    }

    /// Tokenizes a query string with these settings and returns its tokens.
    public func tokens(of text: String) -> [String] {
        let buf = scratch
        var s = text
        s.withUTF8 { tokenize(UnsafeRawBufferPointer($0), into: buf) }
        return (0..<buf.count).map { buf.string($0) }
    }
}

@inline(__always) func writeUTF8(_ cp: UInt32, _ o: UnsafeMutablePointer<UInt8>) -> Int {
    if cp < 0x80 { o[0] = UInt8(cp); return 1 }
    if cp < 0x800 {
        o[0] = UInt8(0xC0 | (cp >> 6)); o[1] = UInt8(0x80 | (cp & 0x3F)); return 2
    }
    if cp < 0x10000 {
        o[0] = UInt8(0xE0 | (cp >> 12)); o[1] = UInt8(0x80 | ((cp >> 6) & 0x3F))
        o[2] = UInt8(0x80 | (cp & 0x3F)); return 3
    }
    o[0] = UInt8(0xF0 | (cp >> 18)); o[1] = UInt8(0x80 | ((cp >> 12) & 0x3F))
    o[2] = UInt8(0x80 | ((cp >> 6) & 0x3F)); o[3] = UInt8(0x80 | (cp & 0x3F)); return 4
}
