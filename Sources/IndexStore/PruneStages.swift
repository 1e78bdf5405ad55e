import Support
#if canImport(Glibc)
import Glibc
#endif

/// One input file as a shard of a phased `prune` read it.
public struct StageFile: Sendable, Equatable {
    /// Position among all inputs.
    public var source: Int
    public var path: String
    /// The file's format as the manifest names it ("jsonl(text), zstd").
    public var format: String
    /// Documents the file holds (whichever shard reads them) and documents this shard read.
    public var records: Int64
    public var docs: Int64
    public var bytesDecompressed: Int64
    /// Records skipped under `--on-error skip`, by kind.
    public var skipped: [String: Int64]
    public var incomplete: Bool

    public init(source: Int, path: String, format: String, records: Int64, docs: Int64, bytesDecompressed: Int64,
                skipped: [String: Int64], incomplete: Bool) {
        self.source = source; self.path = path; self.format = format; self.records = records; self.docs = docs
        self.bytesDecompressed = bytesDecompressed; self.skipped = skipped; self.incomplete = incomplete
    }
}

/// What the plan phase found in one document: everything the global decisions need, so that
/// the resolve phase never reads the corpus.
public struct StageDocument: Sendable {
    public var source: Int
    /// The document's number within its file (0-based).
    public var position: Int64
    public var line: Int
    public var offset: Int64
    public var tokens: Int32
    /// Exact dedup: the 128-bit hash of the normalized token sequence.
    public var hashA: UInt64 = 0
    public var hashB: UInt64 = 0
    /// Decontamination: the first eval n-gram the document holds, or -1.
    public var contam: Int32 = -1
    /// Near-dup: the MinHash signature (empty: the document has too few tokens for one).
    public var signature: [UInt32] = []
    /// Balancing: kept by the draw, the entry that kept it (or its rarest entry, -1 none), P(keep).
    public var balanceKept = false
    public var balanceEntry: Int32 = -1
    public var balanceP = 0.0
    /// `--keep tail|head`: the score (NaN: no content term).
    public var score = Double.nan

    public init(source: Int, position: Int64, line: Int, offset: Int64, tokens: Int32) {
        self.source = source; self.position = position; self.line = line; self.offset = offset; self.tokens = tokens
    }
}

/// A file of a phased `prune` in its work directory: a shard's plan (`plan-K-of-N.sqlite`), the
/// resolved decisions (`resolved.sqlite`) or a shard's apply result (`apply-K-of-N.sqlite`).
/// Written to `NAME.tailscope-tmp-PID` and renamed into place when complete, so a file that
/// exists is complete; its `meta` says for which settings (`fingerprint`).
///
///     meta(key, value)                      kind, fingerprint, shard, shards, and phase figures
///     files(source, path, format, records, docs, bytes_decompressed, skipped, incomplete)
///     documents(source, position, line, offset, tokens, hash_a, hash_b, contam, signature,
///               balance_kept, balance_entry, balance_p, score)       plan: one row per document
///     decisions(shard, codes)               resolved: per shard, one byte per document in its order
///     vocab(token, count, kept)             apply: every token's count in the shard, and in its kept part
public final class StageWriter {
    public static let schemaVersion = 1
    static let schema = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE files(source INTEGER PRIMARY KEY, path TEXT NOT NULL, format TEXT NOT NULL, records INTEGER NOT NULL,
        docs INTEGER NOT NULL, bytes_decompressed INTEGER NOT NULL, skipped TEXT NOT NULL, incomplete INTEGER NOT NULL);
    CREATE TABLE documents(source INTEGER NOT NULL, position INTEGER NOT NULL, line INTEGER NOT NULL, offset INTEGER NOT NULL,
        tokens INTEGER NOT NULL, hash_a INTEGER NOT NULL, hash_b INTEGER NOT NULL, contam INTEGER NOT NULL, signature BLOB,
        balance_kept INTEGER NOT NULL, balance_entry INTEGER NOT NULL, balance_p REAL NOT NULL, score REAL,
        PRIMARY KEY(source, position)) WITHOUT ROWID;
    CREATE TABLE decisions(shard INTEGER PRIMARY KEY, codes BLOB NOT NULL);
    CREATE TABLE vocab(token BLOB PRIMARY KEY, count INTEGER NOT NULL, kept INTEGER NOT NULL) WITHOUT ROWID;
    """
    private let staged: StagedDatabase
    private var db: Database { staged.db! }
    private let docSt: Statement
    private let vocabSt: Statement

    public init(path: String, kind: String, fingerprint: String, shard: Int, of count: Int) throws(StoreError) {
        staged = try StagedDatabase(path: path, what: "a prune stage file")
        try staged.begin(schema: Self.schema, version: Self.schemaVersion)
        let d = staged.db!
        docSt = try d.prepare("INSERT INTO documents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")
        vocabSt = try d.prepare("INSERT INTO vocab VALUES (?1, ?2, ?3)")
        for (k, v) in [("kind", kind), ("fingerprint", fingerprint), ("shard", "\(shard)"), ("shards", "\(count)")] {
            try setMeta(k, v)
        }
    }

    deinit { abandon() }

    public func setMeta(_ key: String, _ value: String) throws(StoreError) {
        let st = try db.prepare("INSERT OR REPLACE INTO meta VALUES (?1, ?2)")
        st.bind(1, key); st.bind(2, value)
        try st.run()
    }

    public func addFile(_ f: StageFile) throws(StoreError) {
        let st = try db.prepare("INSERT INTO files VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        st.bind(1, Int64(f.source)); st.bind(2, f.path); st.bind(3, f.format); st.bind(4, f.records); st.bind(5, f.docs)
        st.bind(6, f.bytesDecompressed)
        st.bind(7, countsText(f.skipped))
        st.bind(8, Int64(f.incomplete ? 1 : 0))
        try st.run()
    }

    public func addDocument(_ x: StageDocument) throws(StoreError) {
        let st = docSt
        st.bind(1, Int64(x.source)); st.bind(2, x.position); st.bind(3, Int64(x.line)); st.bind(4, x.offset)
        st.bind(5, Int64(x.tokens)); st.bind(6, x.hashA); st.bind(7, x.hashB); st.bind(8, Int64(x.contam))
        if x.signature.isEmpty { st.bindNull(9) } else { x.signature.withUnsafeBytes { st.bindBlob(9, $0) } }
        st.bind(10, Int64(x.balanceKept ? 1 : 0)); st.bind(11, Int64(x.balanceEntry)); st.bind(12, x.balanceP)
        if x.score.isNaN { st.bindNull(13) } else { st.bind(13, x.score) }
        try st.run()
    }

    public func setDecisions(shard: Int, codes: [UInt8]) throws(StoreError) {
        let st = try db.prepare("INSERT INTO decisions VALUES (?1, ?2)")
        st.bind(1, Int64(shard))
        codes.withUnsafeBytes { st.bindBlob(2, $0) }
        try st.run()
    }

    public func addToken(_ token: UnsafeRawBufferPointer, count: UInt64, kept: UInt64) throws(StoreError) {
        vocabSt.bindBlob(1, token); vocabSt.bind(2, count); vocabSt.bind(3, kept)
        try vocabSt.run()
    }

    /// Marks the file complete and renames it into place.
    public func commit() throws(StoreError) {
        try setMeta("complete", "1")
        try db.exec("COMMIT")
        try staged.finish()
    }

    public func abandon() { staged.abandon() }
}

/// Reads a file that `StageWriter` wrote.
public final class StageReader {
    public let path: String
    public let meta: [String: String]
    private let db: Database

    public init(path: String) throws(StoreError) {
        self.path = path
        db = try Database(path: path, readOnly: true)
        let v = try db.userVersion()
        guard v <= StageWriter.schemaVersion else {
            throw StoreError("\(path) is a prune stage file of schema \(v); this tailscope reads up to \(StageWriter.schemaVersion)", status: .dataError)
        }
        var m: [String: String] = [:]
        do {
            let st = try db.prepare("SELECT key, value FROM meta")
            while try st.step() { m[st.text(0)] = st.text(1) }
        } catch {
            throw StoreError("\(path) is not a prune stage file (\(error))", status: .dataError)
        }
        meta = m
    }

    public var kind: String { meta["kind"] ?? "" }
    public var fingerprint: String { meta["fingerprint"] ?? "" }
    public var shard: Int { Int(meta["shard"] ?? "") ?? 0 }
    public var shards: Int { Int(meta["shards"] ?? "") ?? 0 }

    public func files() throws(StoreError) -> [StageFile] {
        let st = try db.prepare("SELECT source, path, format, records, docs, bytes_decompressed, skipped, incomplete FROM files ORDER BY source")
        var out: [StageFile] = []
        while try st.step() {
            out.append(StageFile(source: Int(st.int(0)), path: st.text(1), format: st.text(2), records: st.int(3), docs: st.int(4),
                                 bytesDecompressed: st.int(5), skipped: parseCounts(st.text(6)), incomplete: st.int(7) != 0))
        }
        return out
    }

    /// The plan's documents in (source, position) order, one at a time.
    public func documents() throws(StoreError) -> StageCursor {
        StageCursor(try db.prepare("SELECT * FROM documents ORDER BY source, position"))
    }

    public func decisions(shard: Int) throws(StoreError) -> [UInt8]? {
        let st = try db.prepare("SELECT codes FROM decisions WHERE shard = ?1")
        st.bind(1, Int64(shard))
        return try st.step() ? st.blob(0) : nil
    }

    /// Every token with its count in the shard and in the shard's kept documents.
    public func forEachToken(_ body: (UnsafeRawBufferPointer, UInt64, UInt64) throws -> Void) throws {
        let st = try db.prepare("SELECT token, count, kept FROM vocab")
        while try st.step() { try body(st.bytes(0), UInt64(bitPattern: st.int(1)), UInt64(bitPattern: st.int(2))) }
    }
}

/// Steps through a plan's documents.
public final class StageCursor {
    private let st: Statement
    init(_ st: Statement) { self.st = st }

    public func next() throws(StoreError) -> StageDocument? {
        guard try st.step() else { return nil }
        var x = StageDocument(source: Int(st.int(0)), position: st.int(1), line: Int(st.int(2)), offset: st.int(3), tokens: Int32(st.int(4)))
        x.hashA = UInt64(bitPattern: st.int(5)); x.hashB = UInt64(bitPattern: st.int(6)); x.contam = Int32(st.int(7))
        if !st.isNull(8) {
            let b = st.bytes(8)
            x.signature = [UInt32](repeating: 0, count: b.count / 4)
            x.signature.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<($0.count)])) }
        }
        x.balanceKept = st.int(9) != 0; x.balanceEntry = Int32(st.int(10)); x.balanceP = st.double(11)
        x.score = st.isNull(12) ? .nan : st.double(12)
        return x
    }
}

/// Counts by name as the stage files store them: `kind=count,kind=count` in name order.
public func countsText(_ counts: [String: Int64]) -> String {
    counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
}

/// The inverse of `countsText`.
public func parseCounts(_ text: String) -> [String: Int64] {
    var out: [String: Int64] = [:]
    for part in text.split(separator: ",") {
        let kv = part.split(separator: "=")
        if kv.count == 2 { out[String(kv[0])] = Int64(kv[1]) ?? 0 }
    }
    return out
}
