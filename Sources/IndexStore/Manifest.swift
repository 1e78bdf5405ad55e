import CSQLite
import Support

#if canImport(Glibc)
import Glibc
#endif

/// The record of a `prune` run: one row per input document with its decision, and a row per
/// step. Schema in indexes/README.md ("The prune manifest"). Written like an index: into
/// `NAME.tailscope-tmp-PID`, renamed over NAME by `commit()`, so an interrupted run leaves no manifest
/// that looks complete.
public final class ManifestWriter {
    /// The number of migrations applied (`PRAGMA user_version`).
    public static var schemaVersion: Int { migrations.count }
    public var path: String { staged.path }
    private let staged: StagedDatabase
    private var db: Database? { staged.db }
    private let insertDoc: Statement
    private let dropDoc: Statement
    private let setScoreStatement: Statement

    /// The schema as named migrations applied in order, as the index's (`Schema`).
    static let migrations: [(name: String, sql: String)] = [("v1-initial", """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE sources(source INTEGER PRIMARY KEY, path TEXT NOT NULL, format TEXT NOT NULL, docs INTEGER NOT NULL,
        bytes_decompressed INTEGER NOT NULL, skipped INTEGER NOT NULL, incomplete INTEGER NOT NULL);
    CREATE TABLE documents(
        doc INTEGER PRIMARY KEY,            -- 0-based position in the input, across files
        source INTEGER NOT NULL REFERENCES sources(source),
        line INTEGER NOT NULL,              -- first line of the document in its file (1-based)
        offset INTEGER NOT NULL,            -- decompressed byte offset of that line
        tokens INTEGER NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('keep', 'drop')),
        step TEXT,                          -- the step that dropped it (NULL when kept)
        reason TEXT,                        -- short code, e.g. exact-duplicate
        detail TEXT,                        -- human-readable evidence
        score REAL,                         -- the --keep score, when there is one
        match_doc INTEGER,                  -- the earlier document it duplicates
        similarity REAL                     -- estimated Jaccard similarity for near-duplicates
    );
    CREATE TABLE steps(position INTEGER PRIMARY KEY, step TEXT NOT NULL, parameters TEXT NOT NULL,
        docs_in INTEGER NOT NULL, docs_dropped INTEGER NOT NULL, tokens_in INTEGER NOT NULL, tokens_dropped INTEGER NOT NULL);
    CREATE TABLE summary(stage TEXT PRIMARY KEY, docs INTEGER NOT NULL, tokens INTEGER NOT NULL, types INTEGER NOT NULL,
        hapax INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE prototypes(cluster INTEGER PRIMARY KEY, size INTEGER NOT NULL, centroid BLOB NOT NULL);
    CREATE VIEW reasons AS SELECT step, reason, COUNT(*) AS docs, SUM(tokens) AS tokens
        FROM documents WHERE decision = 'drop' GROUP BY step, reason;
    """),
    // Migration 2: the document's number within its file, which identifies it across the shards
    // of a phased prune (NULL in manifests written before).
    ("v2-position", """
    ALTER TABLE documents ADD COLUMN position INTEGER;
    """),
    ]

    /// A new manifest at `path`; with `template`, a copy of that (complete) manifest to add to.
    public init(path: String, template: String? = nil) throws(StoreError) {
        staged = try StagedDatabase(path: path, what: "a manifest", copying: template)
        let d = staged.db!
        try d.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        if template == nil {
            for m in Self.migrations { try d.exec(m.sql) }
            try d.exec("PRAGMA user_version = \(Self.schemaVersion)")
        } else if try d.userVersion() != Self.schemaVersion {
            throw StoreError("\(template!) is a manifest of schema \(try d.userVersion()), not \(Self.schemaVersion)", status: .dataError)
        }
        try d.exec("BEGIN")
        insertDoc = try d.prepare("INSERT INTO documents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")
        dropDoc = try d.prepare("UPDATE documents SET decision = 'drop', step = ?2, reason = ?3, detail = ?4 WHERE doc = ?1")
        setScoreStatement = try d.prepare("UPDATE documents SET score = ?2 WHERE doc = ?1")
    }

    deinit { abandon() }

    public func setMeta(_ key: String, _ value: String) throws(StoreError) {
        let st = try db!.prepare("INSERT OR REPLACE INTO meta VALUES (?1, ?2)")
        st.bind(1, key); st.bind(2, value)
        try st.run()
    }

    /// Sets the --keep score of a document (scored after its row was written).
    public func setScore(doc: Int64, score: Double?) throws(StoreError) {
        let s = setScoreStatement
        s.bind(1, doc)
        if let score { s.bind(2, score) } else { s.bindNull(2) }
        try s.run()
    }

    /// Stores the k-means prototypes of --keep hard|easy: each centroid as little-endian float32.
    public func addPrototype(cluster: Int, size: Int, centroid: [Float]) throws(StoreError) {
        let st = try db!.prepare("INSERT INTO prototypes VALUES (?1, ?2, ?3)")
        st.bind(1, Int64(cluster)); st.bind(2, Int64(size))
        let bytes = centroid.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        bytes.withUnsafeBytes { st.bindBlob(3, $0) }
        try st.run()
    }

    public func addSource(_ source: Int, path: String, format: String, docs: Int64, bytesDecompressed: Int64,
                          skipped: Int64, incomplete: Bool) throws(StoreError) {
        let st = try db!.prepare("INSERT INTO sources VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        st.bind(1, Int64(source)); st.bind(2, path); st.bind(3, format); st.bind(4, docs)
        st.bind(5, bytesDecompressed); st.bind(6, skipped); st.bind(7, Int64(incomplete ? 1 : 0))
        try st.run()
    }

    public func addDocument(doc: Int64, source: Int, position: Int64, line: Int, offset: Int64, tokens: Int, step: String?,
                            reason: String?, detail: String?, score: Double?, matchDoc: Int64?, similarity: Double?) throws(StoreError) {
        let s = insertDoc
        s.bind(1, doc); s.bind(2, Int64(source)); s.bind(3, Int64(line)); s.bind(4, offset); s.bind(5, Int64(tokens))
        s.bind(6, step == nil ? "keep" : "drop")
        if let step { s.bind(7, step) } else { s.bindNull(7) }
        if let reason { s.bind(8, reason) } else { s.bindNull(8) }
        if let detail { s.bind(9, detail) } else { s.bindNull(9) }
        if let score, score.isFinite { s.bind(10, score) } else { s.bindNull(10) }
        if let matchDoc { s.bind(11, matchDoc) } else { s.bindNull(11) }
        if let similarity { s.bind(12, similarity) } else { s.bindNull(12) }
        s.bind(13, position)
        try s.run()
    }

    /// Marks a kept document as dropped by a later step.
    public func drop(doc: Int64, step: String, reason: String, detail: String) throws(StoreError) {
        dropDoc.bind(1, doc); dropDoc.bind(2, step); dropDoc.bind(3, reason); dropDoc.bind(4, detail)
        try dropDoc.run()
    }

    public func addStep(position: Int, step: String, parameters: String, docsIn: Int64, docsDropped: Int64,
                        tokensIn: Int64, tokensDropped: Int64) throws(StoreError) {
        let st = try db!.prepare("INSERT INTO steps VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        st.bind(1, Int64(position)); st.bind(2, step); st.bind(3, parameters); st.bind(4, docsIn)
        st.bind(5, docsDropped); st.bind(6, tokensIn); st.bind(7, tokensDropped)
        try st.run()
    }

    public func addSummary(stage: String, docs: Int64, tokens: Int64, types: Int64, hapax: Int64, bytes: Int64) throws(StoreError) {
        let st = try db!.prepare("INSERT OR REPLACE INTO summary VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        st.bind(1, stage); st.bind(2, docs); st.bind(3, tokens); st.bind(4, types); st.bind(5, hapax); st.bind(6, bytes)
        try st.run()
    }

    /// Commits, closes and renames the file into place.
    public func commit() throws(StoreError) {
        guard let d = db else { return }
        try d.exec("COMMIT")
        try d.exec("CREATE INDEX IF NOT EXISTS documents_source_line ON documents(source, line)")
        try staged.finish()
    }

    public func abandon() { staged.abandon() }
}

public struct ManifestDocument: Sendable {
    public let doc: Int64
    public let path: String
    public let line: Int
    public let offset: Int64
    public let tokens: Int
    public let decision: String
    public let step: String?
    public let reason: String?
    public let detail: String?
    public let score: Double?
    public let matchDoc: Int64?
    public let matchPath: String?
    public let matchLine: Int?
    public let similarity: Double?
}

public final class ManifestReader {
    let db: Database
    public let meta: [String: String]

    public init(path: String) throws(StoreError) {
        db = try Database(path: path, readOnly: true)
        let v = try db.userVersion()
        guard v >= 1 else { throw StoreError("\(path) is not a tailscope prune manifest", status: .dataError) }
        guard v <= ManifestWriter.schemaVersion else {
            throw StoreError("\(path) is a manifest of schema \(v); this tailscope reads up to \(ManifestWriter.schemaVersion)", status: .dataError)
        }
        var m: [String: String] = [:]
        let st = try db.prepare("SELECT key, value FROM meta")
        while try st.step() { m[st.text(0)] = st.text(1) }
        meta = m
    }

    /// Documents matching a key: a document number, or `FILE:LINE` (FILE as given to prune, or
    /// its last path components).
    public func find(_ key: String) throws(StoreError) -> [ManifestDocument] {
        let cols = """
        SELECT d.doc, s.path, d.line, d.offset, d.tokens, d.decision, d.step, d.reason, d.detail, d.score,
               d.match_doc, ms.path, m.line, d.similarity
        FROM documents d JOIN sources s ON s.source = d.source
        LEFT JOIN documents m ON m.doc = d.match_doc LEFT JOIN sources ms ON ms.source = m.source
        """
        let st: Statement
        if let n = Int64(key) {
            st = try db.prepare(cols + " WHERE d.doc = ?1")
            st.bind(1, n)
        } else if let colon = key.lastIndex(of: ":"), let line = Int64(key[key.index(after: colon)...]) {
            let file = String(key[..<colon])
            st = try db.prepare(cols + " WHERE d.line = ?2 AND (s.path = ?1 OR s.path LIKE '%/' || ?1) ORDER BY d.doc")
            st.bind(1, file); st.bind(2, line)
        } else {
            throw StoreError("'\(key)' is neither a document number nor FILE:LINE")
        }
        var out: [ManifestDocument] = []
        while try st.step() {
            out.append(ManifestDocument(
                doc: st.int(0), path: st.text(1), line: Int(st.int(2)), offset: st.int(3), tokens: Int(st.int(4)),
                decision: st.text(5), step: st.isNull(6) ? nil : st.text(6), reason: st.isNull(7) ? nil : st.text(7),
                detail: st.isNull(8) ? nil : st.text(8), score: st.isNull(9) ? nil : st.double(9),
                matchDoc: st.isNull(10) ? nil : st.int(10), matchPath: st.isNull(11) ? nil : st.text(11),
                matchLine: st.isNull(12) ? nil : Int(st.int(12)), similarity: st.isNull(13) ? nil : st.double(13)))
        }
        st.reset()
        return out
    }

    /// Every document's --keep score in input order (nil where none).
    public func scores() throws(StoreError) -> [Double?] {
        let st = try db.prepare("SELECT score FROM documents ORDER BY doc")
        var out: [Double?] = []
        while try st.step() { out.append(st.isNull(0) ? nil : st.double(0)) }
        return out
    }

    /// The --keep hard|easy prototypes: each cluster's size and centroid.
    public func prototypes() throws(StoreError) -> [(size: Int, centroid: [Float])] {
        let st = try db.prepare("SELECT size, centroid FROM prototypes ORDER BY cluster")
        var out: [(size: Int, centroid: [Float])] = []
        while try st.step() {
            let b = st.blob(1)
            var c: [Float] = []
            for i in stride(from: 0, to: b.count - 3, by: 4) {
                var bits = UInt32(b[i])
                bits |= UInt32(b[i + 1]) << 8
                bits |= UInt32(b[i + 2]) << 16
                bits |= UInt32(b[i + 3]) << 24
                c.append(Float(bitPattern: bits))
            }
            out.append((Int(st.int(0)), c))
        }
        return out
    }

    /// Every document's decision in input order: (doc, step or nil when kept, reason, match_doc).
    public func decisions() throws(StoreError) -> [(doc: Int64, step: String?, reason: String?, matchDoc: Int64?)] {
        let st = try db.prepare("SELECT doc, step, reason, match_doc FROM documents ORDER BY doc")
        var out: [(doc: Int64, step: String?, reason: String?, matchDoc: Int64?)] = []
        while try st.step() {
            out.append((st.int(0), st.isNull(1) ? nil : st.text(1), st.isNull(2) ? nil : st.text(2), st.isNull(3) ? nil : st.int(3)))
        }
        return out
    }

    /// The steps in order: name, parameters, documents in and dropped, tokens in and dropped.
    public func steps() throws(StoreError) -> [(step: String, parameters: String, docsIn: Int64, docsDropped: Int64, tokensIn: Int64, tokensDropped: Int64)] {
        let st = try db.prepare("SELECT step, parameters, docs_in, docs_dropped, tokens_in, tokens_dropped FROM steps ORDER BY position")
        var out: [(step: String, parameters: String, docsIn: Int64, docsDropped: Int64, tokensIn: Int64, tokensDropped: Int64)] = []
        while try st.step() { out.append((st.text(0), st.text(1), st.int(2), st.int(3), st.int(4), st.int(5))) }
        return out
    }

    /// Dropped documents and their tokens by step and reason.
    public func reasons() throws(StoreError) -> [(step: String, reason: String, docs: Int64, tokens: Int64)] {
        let st = try db.prepare("SELECT step, reason, docs, tokens FROM reasons ORDER BY step, reason")
        var out: [(step: String, reason: String, docs: Int64, tokens: Int64)] = []
        while try st.step() { out.append((st.text(0), st.text(1), st.int(2), st.int(3))) }
        return out
    }

    /// Every input file: decompressed bytes, records skipped, by source.
    public func sources() throws(StoreError) -> [(source: Int, path: String, bytesDecompressed: Int64, skipped: Int64)] {
        let st = try db.prepare("SELECT source, path, bytes_decompressed, skipped FROM sources ORDER BY source")
        var out: [(source: Int, path: String, bytesDecompressed: Int64, skipped: Int64)] = []
        while try st.step() { out.append((Int(st.int(0)), st.text(1), st.int(2), st.int(3))) }
        return out
    }

    /// Every row of a table as text (columns separated by `|`), in key order: for comparing two
    /// manifests.
    public func rows(of table: String) throws(StoreError) -> [String] {
        guard ["sources", "documents", "steps", "summary", "prototypes"].contains(table) else { throw StoreError("no table \(table)") }
        let st = try db.prepare("SELECT * FROM \(table) ORDER BY 1")
        var out: [String] = []
        let n = sqlite3_column_count(st.s)
        while try st.step() {
            out.append((0..<n).map { st.isNull($0) ? "NULL" : st.text($0) }.joined(separator: "|"))
        }
        return out
    }
}
