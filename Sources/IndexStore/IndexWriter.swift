import Counting
import Support

#if canImport(Glibc)
import Glibc
#endif

/// One indexed input file and what happened while reading it.
public struct SourceRecord: Sendable, Equatable {
    public var path: String
    public var size: Int64
    public var checksum: String
    public var container: String
    public var format: String
    /// `all`, or the slice `K/N` (by file or by document) this index holds.
    public var shard: String
    public var docs: Int64
    public var tokens: Int64
    public var bytesDecompressed: Int64
    public var lines: Int64
    public var blankLines: Int64
    public var replacedInvalidUTF8: Int64
    /// Skipped inputs by kind (`invalid_json`, `missing_field`, ...).
    public var skipped: [String: Int64]
    public var incomplete: Bool
    public var indexedAt: String

    public init(path: String, size: Int64, checksum: String, container: String, format: String, shard: String,
                docs: Int64, tokens: Int64, bytesDecompressed: Int64, lines: Int64, blankLines: Int64,
                replacedInvalidUTF8: Int64, skipped: [String: Int64], incomplete: Bool, indexedAt: String) {
        self.path = path; self.size = size; self.checksum = checksum; self.container = container
        self.format = format; self.shard = shard; self.docs = docs; self.tokens = tokens
        self.bytesDecompressed = bytesDecompressed; self.lines = lines; self.blankLines = blankLines
        self.replacedInvalidUTF8 = replacedInvalidUTF8; self.skipped = skipped; self.incomplete = incomplete
        self.indexedAt = indexedAt
    }

    /// Kinds of skipped input, in column order.
    public static let skipKinds = ["unreadable", "truncated", "corrupt", "empty_file", "invalid_json",
                                   "missing_field", "field_not_string", "line_too_long"]

    /// The `sources` columns in the order the writer binds and the reader reads them.
    static let columns = ["path", "size", "checksum", "container", "format", "shard", "docs", "tokens",
                          "bytes_decompressed", "lines", "blank_lines", "replaced_invalid_utf8"]
        + skipKinds.map { "skipped_\($0)" } + ["incomplete", "indexed_at"]
}

/// How many of the most frequent n-grams per order are kept in `top_ngrams`.
public let storedTopK = 10_000

/// Builds an index in a temporary file next to the destination and renames it into place in
/// `commit()`: an interrupted run leaves `NAME.tailscope-tmp-PID` (removed by the next run
/// once its process is gone), never a file at `NAME`.
///
/// All rows go into one transaction with the journal off; n-gram rows must arrive in primary-key
/// order (the merge produces them so), which keeps SQLite's B-tree appends sequential.
public final class IndexWriter {
    /// The schema version new indexes get: the number of migrations (`PRAGMA user_version`).
    public static var schemaVersion: Int { Schema.version }
    public let finalPath: String
    public let tempPath: String
    public let maxOrder: Int
    private var db: Database?
    /// Holds the temporary file's lock (so `clean` never takes it for a leftover); closed after SQLite.
    private var lockFD: Int32 = -1

    /// `cacheBytes`: SQLite's page cache while writing (a share of `--memory`, at most 64 MiB).
    public init(path: String, maxOrder: Int, cacheBytes: Int = 64 << 20) throws(StoreError) {
        finalPath = try regularOutputPath(path, what: "an index")
        tempPath = TempFiles.path(for: finalPath)
        self.maxOrder = maxOrder
        _ = TempFiles.cleanLeftovers(in: directoryName(finalPath), only: lastComponent(finalPath))
        unlink(tempPath)
        let db = try Database(path: tempPath, readOnly: false)
        self.db = db
        lockFD = TempFiles.lockFile(tempPath)
        try db.exec("""
            PRAGMA page_size = 16384; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -\(max(1024, cacheBytes >> 10)); PRAGMA temp_store = FILE;
            """)
        for m in Schema.migrations { try db.exec(m.sql) }
        for n in 2...max(2, maxOrder) where n <= maxOrder { try db.exec(Schema.ngramTableSQL(order: n)) }
        try db.exec("PRAGMA user_version = \(Schema.version); BEGIN;")
    }

    deinit { if db != nil { abandon() } }

    var conn: Database { db! }
    /// `token(id:)`'s statement, prepared once.
    var tokenStatement: Statement?

    public func setMeta(_ pairs: [(String, String)]) throws(StoreError) {
        let st = try conn.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")
        for (k, v) in pairs {
            st.bind(1, k)
            st.bind(2, v)
            try st.run()
        }
    }

    public func addSources(_ sources: [SourceRecord]) throws(StoreError) {
        let cols = SourceRecord.columns
        let st = try conn.prepare("INSERT INTO sources(\(cols.joined(separator: ","))) VALUES (\(cols.map { _ in "?" }.joined(separator: ",")))")
        for s in sources {
            st.bind(1, s.path); st.bind(2, s.size); st.bind(3, s.checksum); st.bind(4, s.container)
            st.bind(5, s.format); st.bind(6, s.shard); st.bind(7, s.docs); st.bind(8, s.tokens)
            st.bind(9, s.bytesDecompressed); st.bind(10, s.lines); st.bind(11, s.blankLines)
            st.bind(12, s.replacedInvalidUTF8)
            var i: Int32 = 13
            for k in SourceRecord.skipKinds { st.bind(i, s.skipped[k] ?? 0); i += 1 }
            st.bind(i, s.incomplete ? Int64(1) : 0)
            st.bind(i + 1, s.indexedAt)
            try st.run()
        }
    }

    /// Writes every token with its id, count and document frequency, plus the unigram totals.
    public func writeVocabulary(_ v: Vocabulary) throws(StoreError) {
        let perStatement = 64
        let one = "(?, ?, ?, ?)"
        let sql = "INSERT INTO vocab(id, token, count, df) VALUES "
        let single = try conn.prepare(sql + one)
        let multi = try conn.prepare(sql + Array(repeating: one, count: perStatement).joined(separator: ", "))
        let (counts, dfs) = v.countsById()
        var summary = OrderSummary(order: 1)
        var tally = CountTally()
        var ids: [UInt32] = []
        ids.reserveCapacity(counts.count)
        for id in 0..<UInt32(counts.count) where counts[Int(id)] > 0 {
            // (A token interned but never counted cannot come from indexed text.)
            let c = counts[Int(id)]
            ids.append(id)
            summary.total &+= c
            summary.types += 1
            tally.add(c)
        }
        // The token bytes live in the vocabulary until it is released: bind them without a copy.
        var k = 0
        while k < ids.count {
            let st = ids.count - k >= perStatement ? multi : single
            let rows = st === multi ? perStatement : 1
            var p: Int32 = 1
            for id in ids[k..<(k + rows)] {
                st.bind(p, Int64(id)); st.bindTextNoCopy(p + 1, v.token(id))
                st.bind(p + 2, counts[Int(id)]); st.bind(p + 3, dfs[Int(id)])
                p += 4
            }
            try st.run()
            k += rows
        }
        summary.stored = summary.types
        summary.countOfCounts = tally.countOfCounts
        summary.top = Self.topUnigrams(counts: counts, dfs: dfs, countOfCounts: summary.countOfCounts)
        try writeSummary(summary) { v.string($0) }
    }

    /// The `storedTopK` most frequent ids (ties by id), sorting only the counts at or above the
    /// `storedTopK`-th largest (found from the count-of-counts).
    static func topUnigrams(counts: [UInt64], dfs: [UInt64], countOfCounts: [UInt64: UInt64]) -> [(ids: [UInt32], count: UInt64, df: UInt64)] {
        var atLeast: UInt64 = 0, cutoff: UInt64 = 1
        for (c, t) in countOfCounts.sorted(by: { $0.key > $1.key }) {
            cutoff = c
            atLeast += t
            if atLeast >= UInt64(storedTopK) { break }
        }
        var top: [(UInt32, UInt64)] = []
        for (i, c) in counts.enumerated() where c >= cutoff { top.append((UInt32(i), c)) }
        top.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return top.prefix(storedTopK).map { ([$0.0], $0.1, dfs[Int($0.0)]) }
    }

    /// Writes the union of several vocabularies (counted over disjoint documents) with ids in
    /// token byte order, which lets both the table and its token index grow by appending: the
    /// index is created first and every row lands at the end of both B-trees. Only for an index
    /// without n-gram tables, whose rows would need the counting ids.
    public func writeSortedVocabulary(_ parts: [SortedVocabulary]) throws(StoreError) {
        precondition(maxOrder == 1, "n-gram rows use the counting ids")
        try conn.exec("CREATE UNIQUE INDEX vocab_token ON vocab(token);")
        // The first row gets id 0 explicitly; later rows leave it to SQLite, which appends at
        // the largest rowid + 1 without the uniqueness probe an explicit id costs.
        let perStatement = 64
        let first = try conn.prepare("INSERT INTO vocab(id, token, count, df) VALUES (0, ?, ?, ?)")
        let sql = "INSERT INTO vocab(token, count, df) VALUES "
        let single = try conn.prepare(sql + "(?, ?, ?)")
        let multi = try conn.prepare(sql + Array(repeating: "(?, ?, ?)", count: perStatement).joined(separator: ", "))
        var summary = OrderSummary(order: 1)
        var tally = CountTally()
        var counts: [UInt64] = []
        var dfs: [UInt64] = []
        var source: [(part: Int, position: Int)] = []
        let upper = parts.reduce(0) { $0 + $1.count }  // types, at most
        counts.reserveCapacity(upper); dfs.reserveCapacity(upper); source.reserveCapacity(upper)
        var pending: [(token: UnsafeRawBufferPointer, count: UInt64, df: UInt64)] = []
        pending.reserveCapacity(perStatement)
        func insert(_ st: Statement, _ rows: ArraySlice<(token: UnsafeRawBufferPointer, count: UInt64, df: UInt64)>) throws(StoreError) {
            var p: Int32 = 1
            for r in rows {
                st.bindTextNoCopy(p, r.token); st.bind(p + 1, r.count); st.bind(p + 2, r.df)
                p += 3
            }
            try st.run()
        }
        do {
            try SortedVocabulary.mergeSorted(parts) { token, c, df, part, position in
                // (A token interned but never counted cannot come from indexed text.)
                guard c > 0 else { return }
                counts.append(c); dfs.append(df); source.append((part, position))
                summary.total &+= c
                summary.types += 1
                tally.add(c)
                pending.append((token, c, df))
                if counts.count == 1 {
                    try insert(first, pending[...])
                    pending.removeAll(keepingCapacity: true)
                } else if pending.count == perStatement {
                    try insert(multi, pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
            }
            for r in pending { try insert(single, [r]) }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError("\(error)")
        }
        summary.stored = summary.types
        summary.countOfCounts = tally.countOfCounts
        summary.top = Self.topUnigrams(counts: counts, dfs: dfs, countOfCounts: summary.countOfCounts)
        try writeSummary(summary) { id in
            let s = source[Int(id)]
            return parts[s.part].string(at: s.position)
        }
    }

    /// A sink that inserts order-`n` rows; rows must come in ascending id-tuple order.
    /// Call `finish()` on it after the last row.
    public func ngramSink(order n: Int) throws(StoreError) -> NGramInserter {
        let cols = (1...n).map { "w\($0)" }.joined(separator: ", ")
        let one = "(" + Array(repeating: "?", count: n + 2).joined(separator: ", ") + ")"
        let sql = "INSERT INTO ngram\(n)(\(cols), count, df) VALUES "
        return NGramInserter(single: try conn.prepare(sql + one),
                             multi: try conn.prepare(sql + Array(repeating: one, count: NGramInserter.rowsPerStatement).joined(separator: ", ")),
                             order: n)
    }

    /// Stores an order's totals, count-of-counts and top n-grams (spelled out with `text`).
    public func writeSummary(_ s: OrderSummary, text: (UInt32) -> String) throws(StoreError) {
        let st = try conn.prepare("INSERT OR REPLACE INTO order_stats(n, occurrences, types, stored, hapax) VALUES (?, ?, ?, ?, ?)")
        st.bind(1, Int64(s.order)); st.bind(2, s.total); st.bind(3, s.types); st.bind(4, s.stored); st.bind(5, s.hapax)
        try st.run()
        let cc = try conn.prepare("INSERT INTO count_of_counts(n, count, types) VALUES (?, ?, ?)")
        for (c, t) in s.countOfCounts.sorted(by: { $0.key < $1.key }) {
            cc.bind(1, Int64(s.order)); cc.bind(2, c); cc.bind(3, t)
            try cc.run()
        }
        let tp = try conn.prepare("INSERT INTO top_ngrams(n, rank, ngram, count, df) VALUES (?, ?, ?, ?, ?)")
        for (rank, row) in s.top.enumerated() {
            tp.bind(1, Int64(s.order)); tp.bind(2, Int64(rank + 1))
            tp.bind(3, row.ids.map(text).joined(separator: " "))
            tp.bind(4, row.count); tp.bind(5, row.df)
            try tp.run()
        }
    }

    /// Builds the token lookup index and the text views, marks the index complete, and renames it
    /// into place atomically.
    public func commit() throws(StoreError) {
        tokenStatement = nil
        // The token index is one external sort. With a small page cache SQLite's sorter cuts it
        // into several runs that two worker threads sort at once (measured on 565k tokens:
        // 0.48 s against 0.65-0.80 s in one run).
        try conn.exec("PRAGMA threads = 2; PRAGMA cache_size = -4096;")
        try conn.exec("CREATE UNIQUE INDEX IF NOT EXISTS vocab_token ON vocab(token);")
        try conn.exec(Schema.viewsSQL(maxOrder: maxOrder))
        try setMeta([("complete", "1")])
        try conn.exec("COMMIT;")
        conn.close()
        db = nil
        defer { if lockFD >= 0 { close(lockFD); lockFD = -1 } }
        if rename(tempPath, finalPath) != 0 {
            let msg = String(cString: strerror(errno))
            unlink(tempPath)
            throw StoreError("cannot move the finished index to \(finalPath): \(msg)")
        }
    }

    /// Deletes the unfinished temporary file.
    public func abandon() {
        tokenStatement = nil
        db?.close()
        db = nil
        unlink(tempPath)
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }
}

/// Inserts n-gram rows, `rowsPerStatement` at a time: one multi-row INSERT costs far fewer
/// VDBE round trips (bind/step/reset) than the same rows one by one.
public final class NGramInserter: NGramRowSink {
    static let rowsPerStatement = 64
    let single: Statement
    let multi: Statement
    let order: Int
    private var pending = 0
    private let values: UnsafeMutablePointer<Int64>

    init(single: Statement, multi: Statement, order: Int) {
        self.single = single
        self.multi = multi
        self.order = order
        values = .allocate(capacity: Self.rowsPerStatement * (order + 2))
    }

    deinit { values.deallocate() }

    public func row(_ ids: UnsafePointer<UInt32>, count: UInt64, df: UInt64) throws {
        let w = order + 2
        let v = values + pending * w
        for k in 0..<order { v[k] = Int64(ids[k]) }
        v[order] = Int64(bitPattern: count)
        v[order + 1] = Int64(bitPattern: df)
        pending += 1
        if pending == Self.rowsPerStatement {
            for i in 0..<(pending * w) { multi.bind(Int32(i + 1), values[i]) }
            try multi.run()
            pending = 0
        }
    }

    /// Inserts the rows still buffered.
    public func finish() throws(StoreError) {
        let w = order + 2
        for r in 0..<pending {
            for c in 0..<w { single.bind(Int32(c + 1), values[r * w + c]) }
            try single.run()
        }
        pending = 0
    }
}

/// The path an SQLite output is renamed to: `path` resolved (a symlink's target is replaced, not
/// the link). SQLite files must be regular files: a device, FIFO or directory is refused.
func regularOutputPath(_ path: String, what: String) throws(StoreError) -> String {
    let d: OutputDestination
    do { d = try OutputDestination(path) } catch { throw StoreError(error.description) }
    guard case .atomic(let resolved) = d else {
        throw StoreError("\(path) is not a regular file; \(what) is a SQLite file and needs a file name")
    }
    return resolved
}
