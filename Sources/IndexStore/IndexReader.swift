import Counting

/// Totals of one order, as stored.
public struct OrderStats: Sendable, Equatable {
    public let order: Int
    public let occurrences: UInt64
    public let types: UInt64
    public let stored: UInt64
    public let hapax: UInt64
}

/// One n-gram with its counts, spelled out.
public struct NGramRow: Sendable, Equatable {
    public let ngram: String
    public let count: UInt64
    public let df: UInt64
}

/// Reads a finished index. Refuses a file that is not a tailscope index, is newer than this
/// version knows, or was never completed.
public final class IndexReader {
    public let path: String
    let db: Database
    /// The `meta` table.
    public let meta: [String: String]
    public let maxOrder: Int
    public let minCount: UInt64
    public let caseFold: Bool

    public init(path: String) throws(StoreError) {
        self.path = path
        db = try Database(path: path, readOnly: true)
        let version = try db.userVersion()
        guard version >= 1 else { throw StoreError("\(path) is not a tailscope index") }
        guard version <= Schema.version else {
            throw StoreError("\(path) has schema version \(version); this tailscope reads up to \(Schema.version)")
        }
        var m: [String: String] = [:]
        let st = try db.prepare("SELECT key, value FROM meta")
        while try st.step() { m[st.text(0)] = st.text(1) }
        meta = m
        guard m["complete"] == "1" else { throw StoreError("\(path) is an unfinished index (its build was interrupted)") }
        maxOrder = Int(m["max_order"] ?? "1") ?? 1
        minCount = UInt64(m["min_count"] ?? "1") ?? 1
        caseFold = m["case_fold"] == "1"
    }

    public func sources() throws(StoreError) -> [SourceRecord] {
        let cols = SourceRecord.columns
        let st = try db.prepare("SELECT \(cols.joined(separator: ",")) FROM sources ORDER BY id")
        var out: [SourceRecord] = []
        while try st.step() {
            var skipped: [String: Int64] = [:]
            for (i, k) in SourceRecord.skipKinds.enumerated() {
                let v = st.int(Int32(12 + i))
                if v != 0 { skipped[k] = v }
            }
            let base = Int32(12 + SourceRecord.skipKinds.count)
            out.append(SourceRecord(path: st.text(0), size: st.int(1), checksum: st.text(2), container: st.text(3),
                                    format: st.text(4), shard: st.text(5), docs: st.int(6), tokens: st.int(7),
                                    bytesDecompressed: st.int(8), lines: st.int(9), blankLines: st.int(10),
                                    replacedInvalidUTF8: st.int(11), skipped: skipped,
                                    incomplete: st.int(base) != 0, indexedAt: st.text(base + 1)))
        }
        return out
    }

    public func orderStats() throws(StoreError) -> [OrderStats] {
        let st = try db.prepare("SELECT n, occurrences, types, stored, hapax FROM order_stats ORDER BY n")
        var out: [OrderStats] = []
        while try st.step() {
            out.append(OrderStats(order: Int(st.int(0)), occurrences: UInt64(st.int(1)), types: UInt64(st.int(2)),
                                  stored: UInt64(st.int(3)), hapax: UInt64(st.int(4))))
        }
        return out
    }

    /// (count, number of n-grams with that count), ascending by count.
    public func countOfCounts(order: Int) throws(StoreError) -> [(count: UInt64, types: UInt64)] {
        let st = try db.prepare("SELECT count, types FROM count_of_counts WHERE n = ? ORDER BY count")
        st.bind(1, Int64(order))
        var out: [(UInt64, UInt64)] = []
        while try st.step() { out.append((UInt64(st.int(0)), UInt64(st.int(1)))) }
        return out
    }

    private lazy var idStatement: Statement? = try? db.prepare("SELECT id FROM vocab WHERE token = ?")

    /// The id of a (normalized) token, or nil when the corpus never has it.
    public func tokenId(_ token: String) throws(StoreError) -> UInt32? {
        guard let st = idStatement else { throw StoreError("\(path): cannot query vocab") }
        st.bind(1, token)
        defer { st.reset() }
        return try st.step() ? UInt32(st.int(0)) : nil
    }

    private var lookupStatements: [Int: Statement] = [:]

    /// Count and document frequency of the n-gram of these token ids (1 ... maxOrder ids);
    /// (0, 0) when it is not stored.
    public func counts(ids: [UInt32]) throws(StoreError) -> (count: UInt64, df: UInt64) {
        let n = ids.count
        precondition(n >= 1 && n <= maxOrder)
        let st: Statement
        if let s = lookupStatements[n] {
            st = s
        } else if n == 1 {
            st = try db.prepare("SELECT count, df FROM vocab WHERE id = ?1")
            lookupStatements[n] = st
        } else {
            let cond = (1...n).map { "w\($0) = ?\($0)" }.joined(separator: " AND ")
            st = try db.prepare("SELECT count, df FROM ngram\(n) WHERE \(cond)")
            lookupStatements[n] = st
        }
        for (k, id) in ids.enumerated() { st.bind(Int32(k + 1), Int64(id)) }
        defer { st.reset() }
        return try st.step() ? (UInt64(st.int(0)), UInt64(st.int(1))) : (0, 0)
    }

    /// The `limit` most (or, with `bottom`, least) frequent stored n-grams of an order.
    /// Ties are broken by the id tuple, so the answer is deterministic for a given index.
    public func top(order n: Int, limit: Int, bottom: Bool) throws(StoreError) -> [NGramRow] {
        let text = n == 1 ? "token" : "ngram"
        let source = n == 1 ? "vocab" : "ngram\(n)_text"
        if !bottom {
            let st = try db.prepare("SELECT ngram, count, df FROM top_ngrams WHERE n = ? ORDER BY rank LIMIT ?")
            st.bind(1, Int64(n)); st.bind(2, Int64(limit))
            var out: [NGramRow] = []
            while try st.step() { out.append(NGramRow(ngram: st.text(0), count: UInt64(st.int(1)), df: UInt64(st.int(2)))) }
            let storedTop = out.count
            if storedTop >= limit || storedTop < storedTopK { return out }
            // More than the stored top list: scan the table.
            let scan = try db.prepare("SELECT \(text), count, df FROM \(source) ORDER BY count DESC LIMIT ?")
            scan.bind(1, Int64(limit))
            out = []
            while try scan.step() { out.append(NGramRow(ngram: scan.text(0), count: UInt64(scan.int(1)), df: UInt64(scan.int(2)))) }
            return out
        }
        // Bottom: walk the distinct counts upward (known from count_of_counts); each query stops
        // after `limit` rows, and rare counts are dense, so this rarely scans far.
        var out: [NGramRow] = []
        let minStored = n == 1 ? 1 : minCount
        let keyOrder = n == 1 ? "id" : (1...n).map { "g.w\($0)" }.joined(separator: ", ")
        let from = n == 1
            ? "SELECT token, count, df FROM vocab g WHERE count = ? ORDER BY \(keyOrder) LIMIT ?"
            : "SELECT \((1...n).map { "(SELECT token FROM vocab WHERE id = g.w\($0))" }.joined(separator: " || ' ' || ")), g.count, g.df FROM ngram\(n) g WHERE g.count = ? ORDER BY \(keyOrder) LIMIT ?"
        let st = try db.prepare(from)
        for (c, _) in try countOfCounts(order: n) where c >= minStored {
            st.bind(1, c)
            st.bind(2, Int64(limit - out.count))
            while try st.step() { out.append(NGramRow(ngram: st.text(0), count: UInt64(st.int(1)), df: UInt64(st.int(2)))) }
            st.reset()
            if out.count >= limit { break }
        }
        return out
    }

    /// Calls `body` for every token in id order.
    public func forEachToken(_ body: (UInt32, UnsafeRawBufferPointer, UInt64, UInt64) throws -> Void) throws {
        let st = try db.prepare("SELECT id, token, count, df FROM vocab ORDER BY id")
        while try st.step() { try body(UInt32(st.int(0)), st.bytes(1), UInt64(st.int(2)), UInt64(st.int(3))) }
    }

    /// Calls `body` for every stored n-gram of order `n` (2...maxOrder) in id-tuple order.
    public func forEachNGram(order n: Int, _ body: (UnsafePointer<UInt32>, UInt64, UInt64) throws -> Void) throws {
        let cols = (1...n).map { "w\($0)" }.joined(separator: ", ")
        let st = try db.prepare("SELECT \(cols), count, df FROM ngram\(n)")
        let ids = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        defer { ids.deallocate() }
        while try st.step() {
            for k in 0..<n { ids[k] = UInt32(st.int(Int32(k))) }
            try body(ids, UInt64(st.int(Int32(n))), UInt64(st.int(Int32(n + 1))))
        }
    }

    /// Unigram counts, most frequent first (for rank-frequency statistics).
    public func unigramCountsDescending() throws(StoreError) -> [UInt64] {
        var out: [UInt64] = []
        for (c, t) in try countOfCounts(order: 1).reversed() {
            out.append(contentsOf: repeatElement(c, count: Int(t)))
        }
        return out
    }
}
