import CorpusIO
import Counting
import Tokenization

/// Which terms of a question are counted.
public enum TermSpec: Sendable, Equatable, CustomStringConvertible {
    /// Every number in the question: a run of ASCII digits, with inner `.`/`,` groups (`1,000`, `0.25`).
    case numbers
    /// The gold answer (its aliases are alternatives: the most frequent alias counts).
    case answer
    /// Terms listed in a field: a string is one term, a list holds several, a list inside the
    /// list holds the aliases of one term.
    case field(String)
    /// Every token of the question that is not a stopword.
    case content
    /// The gazetteer entities (`--entities FILE`) found in the question: the longest
    /// non-overlapping matches, leftmost first.
    case entities

    public init?(_ s: String) {
        switch s {
        case "numbers": self = .numbers
        case "answer": self = .answer
        case "content": self = .content
        case "entities": self = .entities
        default:
            guard s.hasPrefix("field:"), s.count > 6 else { return nil }
            self = .field(String(s.dropFirst(6)))
        }
    }

    public var description: String {
        switch self {
        case .numbers: return "numbers"
        case .answer: return "answer"
        case .field(let f): return "field:\(f)"
        case .content: return "content"
        case .entities: return "entities"
        }
    }
}

/// One term of a question: its surface text and the token sequences of its aliases.
public struct Term: Sendable, Hashable {
    public let text: String
    public let aliases: [[String]]
}

/// A small English stopword list (function words: articles, pronouns, auxiliaries,
/// prepositions, conjunctions, question words). `--stopwords FILE` replaces it.
public let defaultStopwords: Set<String> = Set("""
a about above after again against all am an and any are as at be because been before being below \
between both but by can could did do does doing down during each few for from further had has have \
having he her here hers herself him himself his how i if in into is it its itself just me more most \
my myself no nor not now of off on once only or other our ours ourselves out over own same she \
should so some such than that the their theirs them themselves then there these they this those \
through to too under until up very was we were what when where which while who whom why will with \
would you your yours yourself yourselves s t d ll m re ve let lets many much may might must shall \
also one get got us
""".split(separator: " ").map { String($0).trimmingSpaces }.filter { !$0.isEmpty })

/// A list of entities with their aliases, tokenized with the index's settings, for finding the
/// entities a question mentions. The file has one entity a line: its name, then tab-separated
/// aliases (`United States\tUSA\tU.S.`); empty lines and lines starting with `#` are skipped.
public final class Gazetteer: Sendable {
    public let entries: [Term]
    /// Alias token sequence -> entry (the first entry that lists it wins).
    let index: [[String]: Int]
    let maxLength: Int

    public init(entries: [(name: String, aliases: [String])], tokenizer: Tokenizer, stopwords: Set<String> = []) {
        var terms: [Term] = []
        var index: [[String]: Int] = [:]
        var maxLength = 0
        for e in entries {
            var aliases: [[String]] = []
            for a in [e.name] + e.aliases {
                let toks = tokenizer.tokens(of: a)
                // An alias made only of stopwords ("The", "It") would match everywhere.
                guard !toks.isEmpty, !toks.allSatisfy({ stopwords.contains($0) }), !aliases.contains(toks) else { continue }
                aliases.append(toks)
            }
            guard !aliases.isEmpty else { continue }
            let k = terms.count
            terms.append(Term(text: e.name, aliases: aliases))
            for a in aliases where index[a] == nil { index[a] = k; maxLength = max(maxLength, a.count) }
        }
        self.entries = terms
        self.index = index
        self.maxLength = maxLength
    }

    /// Reads a gazetteer file.
    public convenience init(path: String, tokenizer: Tokenizer, stopwords: Set<String> = []) throws {
        let text = String(decoding: try readAllBytes(path: path), as: UTF8.self)
        var entries: [(String, [String])] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: true).map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
            guard let name = cols.first, !name.hasPrefix("#") else { continue }
            entries.append((name, Array(cols.dropFirst())))
        }
        self.init(entries: entries, tokenizer: tokenizer, stopwords: stopwords)
    }

    /// The entities in a token sequence: at each position the longest alias that starts there,
    /// then on after it (leftmost-longest, non-overlapping); each entity once, in order.
    public func matches(_ tokens: [String]) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i < tokens.count {
            var hit: (Int, Int)? = nil
            var len = min(maxLength, tokens.count - i)
            while len > 0 {
                if let k = index[Array(tokens[i..<(i + len)])] { hit = (k, len); break }
                len -= 1
            }
            if let (k, l) = hit {
                if !out.contains(k) { out.append(k) }
                i += l
            } else {
                i += 1
            }
        }
        return out
    }
}

/// A text as a dictionary key by its UTF-8 bytes: spellings that differ in any byte are different
/// keys (`String` equality merges canonically equivalent ones), as they are different tokens in
/// the corpus.
struct ExactText: Hashable {
    let text: String
    init(_ t: String) { text = t }
    static func == (a: ExactText, b: ExactText) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
    func hash(into h: inout Hasher) {
        var t = text
        t.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// `TermExtractor`'s content tokens seen before, by their bytes (so that what a row gets does not
/// depend on which spelling of a word the extractor met first): whether each is a stopword, and
/// otherwise its term (its own tokens, tokenized once more); and which one-token terms the
/// current row has.
final class TokenMemo {
    struct Entry {
        var met = false
        /// nil for a stopword or a token without tokens.
        var term: Term? = nil
        /// The id of the term's one token when its alias is one token (what a row's terms are
        /// told apart by), else -1.
        var key: Int32 = -1
    }
    /// Content tokens and the terms' one tokens -> ids; made at the first content token (an
    /// extractor of numbers alone, one per row for `--pairs`, never needs it).
    private(set) var ids: Vocabulary? = nil
    var entries: [Entry] = []
    /// Per id: the call of `terms(of:)` that last took the one-token term keyed by it.
    var takenIn: [Int] = []
    var call = 0
    let buffer = TokenBuffer(bytes: 256)

    func id(_ bytes: UnsafeRawBufferPointer) -> Int {
        if ids == nil { ids = Vocabulary() }
        let id = Int(ids!.intern(bytes))
        while entries.count <= id { entries.append(Entry()); takenIn.append(-1) }
        return id
    }

    func id(_ text: String) -> Int {
        var t = text
        return t.withUTF8 { id(UnsafeRawBufferPointer($0)) }
    }

    /// Whether the current call took the one-token term of `text` (by its bytes).
    func taken(_ text: String) -> Bool {
        guard let ids else { return false }
        var t = text
        guard let id = t.withUTF8({ ids.lookup(UnsafeRawBufferPointer($0)) }) else { return false }
        return takenIn[Int(id)] == call
    }
}

/// Extracts terms from eval rows with the index's tokenizer settings.
public struct TermExtractor {
    public let specs: [TermSpec]
    public let tokenizer: Tokenizer
    public let stopwords: Set<String>
    public let gazetteer: Gazetteer?

    /// Content tokens seen before, by their bytes: whether each is a stopword, and its term (a
    /// term's aliases are always its text's tokens). Questions share most of their words. Like
    /// the tokenizer, one extractor per thread.
    private let memo = TokenMemo()

    public init(specs: [TermSpec], tokenizer: Tokenizer, stopwords: Set<String> = defaultStopwords, gazetteer: Gazetteer? = nil) {
        self.specs = specs
        self.tokenizer = tokenizer
        self.stopwords = stopwords
        self.gazetteer = gazetteer
    }

    /// The distinct terms of a row, in order of first appearance.
    public func terms(of row: EvalRow) -> [Term] {
        var out: [Term] = []
        memo.call += 1
        // Terms seen, by their aliases' tokens. Most are one token of one alias, told apart by the
        // token's bytes: content tokens by the memo's marks, other terms' in `seenTokens`.
        var seen = Set<[[String]]>(), seenTokens = Set<ExactText>()
        func firstSeen(_ aliases: [[String]]) -> Bool {
            guard aliases.count == 1 && aliases[0].count == 1 else { return seen.insert(aliases).inserted }
            return !memo.taken(aliases[0][0]) && seenTokens.insert(ExactText(aliases[0][0])).inserted
        }
        func add(_ text: String, _ aliasTexts: [String]) {
            let aliases = aliasTexts.map { tokenizer.tokens(of: $0) }.filter { !$0.isEmpty }
            guard !aliases.isEmpty, firstSeen(aliases) else { return }
            out.append(Term(text: text, aliases: aliases))
        }
        /// The question's tokens that are not stopwords, each once, as terms of their own tokens;
        /// a token met before is one probe of the memo (its bytes, no string).
        func addContent() {
            var q = row.question
            q.withUTF8 { tokenizer.tokenize(UnsafeRawBufferPointer($0), into: memo.buffer) }
            for i in 0..<memo.buffer.count {
                let id = memo.id(memo.buffer.token(i))
                if !memo.entries[id].met {
                    let t = memo.buffer.string(i)
                    let toks = stopwords.contains(t) ? [] : tokenizer.tokens(of: t)
                    let key = toks.count == 1 ? Int32(memo.id(toks[0])) : -1
                    memo.entries[id] = TokenMemo.Entry(met: true, term: toks.isEmpty ? nil : Term(text: t, aliases: [toks]), key: key)
                }
                guard let term = memo.entries[id].term else { continue }
                let key = Int(memo.entries[id].key)
                if key >= 0 {
                    if memo.takenIn[key] == memo.call || (!seenTokens.isEmpty && seenTokens.contains(ExactText(term.aliases[0][0]))) { continue }
                    memo.takenIn[key] = memo.call
                } else if !seen.insert(term.aliases).inserted {
                    continue
                }
                out.append(term)
            }
        }
        for spec in specs {
            switch spec {
            case .numbers:
                for n in numbers(in: row.question) { add(n, [n]) }
            case .answer:
                if let first = row.answers.first { add(first, row.answers) }
            case .content:
                addContent()
            case .entities:
                guard let g = gazetteer else { continue }
                for k in g.matches(tokenizer.tokens(of: row.question)) {
                    let e = g.entries[k]
                    if firstSeen(e.aliases) { out.append(e) }
                }
            case .field(let name):
                guard let v = row.termFields[name] else { continue }
                switch v {
                case .array(let items):
                    for item in items {
                        if case .array(let alts) = item {
                            let texts = alts.compactMap(\.scalarText)
                            if let f = texts.first { add(f, texts) }
                        } else if let s = item.scalarText {
                            add(s, [s])
                        }
                    }
                default:
                    if let s = v.scalarText { add(s, [s]) }
                }
            }
        }
        return out
    }
}

/// Numbers in a text: maximal runs of ASCII digits, joined across a single `.` or `,` between
/// digits (`1,000`, `3.14`), so a trailing full stop is not part of the number.
public func numbers(in text: String) -> [String] {
    var out: [String] = []
    let u = Array(text.utf8)
    var i = 0
    @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    while i < u.count {
        guard isDigit(u[i]) else { i += 1; continue }
        let start = i
        while i < u.count {
            if isDigit(u[i]) { i += 1; continue }
            if (u[i] == UInt8(ascii: ".") || u[i] == UInt8(ascii: ",")) && i + 1 < u.count && isDigit(u[i + 1]) { i += 1; continue }
            break
        }
        out.append(String(decoding: u[start..<i], as: UTF8.self))
    }
    return out
}

/// The values of one JSON field over a corpus (Wikipedia's `title`: every article names an
/// entity), with how many documents carry each, most frequent first (ties by name): the rows of a
/// gazetteer for `--entities`.
public func corpusFieldValues(_ files: [String], field: String, onError: ErrorPolicy) throws -> [(name: String, docs: Int)] {
    var counts: [String: Int] = [:]
    for path in files {
        let reader = try DocumentReader(path: path, format: .jsonl(field: field), policy: onError)
        try reader.forEachDocument { bytes in
            var s = String(decoding: bytes, as: UTF8.self)
            s = s.split(whereSeparator: { $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ").trimmingSpaces
            if !s.isEmpty { counts[s, default: 0] += 1 }
        }
    }
    return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, $0.value) }
}


/// Question-side pairs (Razeghi et al. 2022): every pair of distinct numbers of a question, and
/// each number with each keyword (`times`, `plus`, ...) that the question holds as a token.
/// Written `numbers`, `keywords:times,plus` or both (`numbers,keywords:times,plus,minus`).
public struct QuestionPairSpec: Sendable, Equatable, CustomStringConvertible {
    public var numbers = false
    public var keywords: [String] = []

    public init(numbers: Bool = false, keywords: [String] = []) { self.numbers = numbers; self.keywords = keywords }

    /// Parses the flag's value; nil when it is not of the two forms.
    public init?(_ s: String) {
        var rest = Substring(s)
        while !rest.isEmpty {
            if rest.hasPrefix("numbers") && (rest.count == 7 || rest.dropFirst(7).first == ",") {
                numbers = true
                rest = rest.dropFirst(min(rest.count, 8))
            } else if rest.hasPrefix("keywords:") {
                keywords = rest.dropFirst(9).split(separator: ",").map { String($0).trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
                rest = ""
            } else {
                return nil
            }
        }
        if !numbers && keywords.isEmpty { return nil }
    }

    public var description: String {
        ([numbers ? "numbers" : nil, keywords.isEmpty ? nil : "keywords:" + keywords.joined(separator: ",")] as [String?]).compactMap { $0 }.joined(separator: ",")
    }
}

/// The `|`-joined alias token texts of a term: how pairs are keyed in the index.
public func aliasKey(_ t: Term) -> String { t.aliases.map { $0.joined(separator: " ") }.joined(separator: "|") }

/// A question's pairs under `spec`, each in a canonical order (by alias key), distinct.
public func questionSidePairs(_ row: EvalRow, _ spec: QuestionPairSpec, tokenizer: Tokenizer) -> [(Term, Term)] {
    let numberTerms = spec.numbers || !spec.keywords.isEmpty
        ? TermExtractor(specs: [.numbers], tokenizer: tokenizer, stopwords: []).terms(of: row) : []
    var out: [(Term, Term)] = []
    var seen = Set<String>()
    func add(_ a: Term, _ b: Term) {
        let (x, y) = aliasKey(a) <= aliasKey(b) ? (a, b) : (b, a)
        guard aliasKey(x) != aliasKey(y), seen.insert(aliasKey(x) + "\t" + aliasKey(y)).inserted else { return }
        out.append((x, y))
    }
    if spec.numbers {
        for i in numberTerms.indices { for j in numberTerms.indices where j > i { add(numberTerms[i], numberTerms[j]) } }
    }
    if !spec.keywords.isEmpty {
        let toks = Set(tokenizer.tokens(of: row.question))
        for k in spec.keywords {
            let kt = tokenizer.tokens(of: k)
            guard kt.count == 1, toks.contains(kt[0]) else { continue }
            let kw = Term(text: k, aliases: [kt])
            for n in numberTerms { add(n, kw) }
        }
    }
    return out
}
