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

    public init?(_ s: String) {
        switch s {
        case "numbers": self = .numbers
        case "answer": self = .answer
        case "content": self = .content
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

/// Extracts terms from eval rows with the index's tokenizer settings.
public struct TermExtractor {
    public let specs: [TermSpec]
    public let tokenizer: Tokenizer
    public let stopwords: Set<String>

    public init(specs: [TermSpec], tokenizer: Tokenizer, stopwords: Set<String> = defaultStopwords) {
        self.specs = specs
        self.tokenizer = tokenizer
        self.stopwords = stopwords
    }

    /// The distinct terms of a row, in order of first appearance.
    public func terms(of row: EvalRow) -> [Term] {
        var out: [Term] = []
        var seen = Set<[[String]]>()
        func add(_ text: String, _ aliasTexts: [String]) {
            let aliases = aliasTexts.map { tokenizer.tokens(of: $0) }.filter { !$0.isEmpty }
            guard !aliases.isEmpty, seen.insert(aliases).inserted else { return }
            out.append(Term(text: text, aliases: aliases))
        }
        for spec in specs {
            switch spec {
            case .numbers:
                for n in numbers(in: row.question) { add(n, [n]) }
            case .answer:
                if let first = row.answers.first { add(first, row.answers) }
            case .content:
                for t in tokenizer.tokens(of: row.question) where !stopwords.contains(t) { add(t, [t]) }
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
