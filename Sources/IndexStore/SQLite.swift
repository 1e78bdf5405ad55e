import CSQLite
import Support

#if canImport(Glibc)
import Glibc
#endif

/// An error from SQLite, or an index that is not what the reader needs.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// The documented exit status: I/O (74) unless the file's content is what is wrong (65).
    public let status: ExitStatus
    public init(_ d: String, status: ExitStatus = .ioError) { description = d; self.status = status }
}

private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A connection. Only this module calls `sqlite3_*`.
final class Database {
    let handle: OpaquePointer
    let path: String

    init(path: String, readOnly: Bool) throws(StoreError) {
        var h: OpaquePointer?
        // A connection is only ever used by one thread at a time: no per-call mutex.
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &h, flags, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            if let h { sqlite3_close(h) }
            throw StoreError("cannot open \(path): \(msg)")
        }
        handle = h
        self.path = path
    }

    /// Statements prepared on this connection; finalized when it closes, so that closing never
    /// fails (and never keeps the file locked) because a statement is still alive somewhere.
    private var statements: [OpaquePointer] = []
    private var closed = false

    deinit { close() }

    func close() {
        if closed { return }
        closed = true
        for s in statements { sqlite3_finalize(s) }
        statements = []
        sqlite3_close(handle)
    }

    func exec(_ sql: String) throws(StoreError) {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &err) != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            throw StoreError("\(path): \(msg)")
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        var s: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &s, nil) == SQLITE_OK, let s else {
            throw StoreError("\(path): \(String(cString: sqlite3_errmsg(handle))) in: \(sql)")
        }
        statements.append(s)
        return Statement(s, db: self)
    }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    /// `PRAGMA user_version`: the number of schema migrations applied.
    func userVersion() throws(StoreError) -> Int {
        let v = try prepare("PRAGMA user_version")
        defer { v.reset() }
        _ = try v.step()
        return Int(v.int(0))
    }
}

/// A prepared statement, reused with `reset()`.
final class Statement {
    let s: OpaquePointer
    let db: Database

    init(_ s: OpaquePointer, db: Database) {
        self.s = s
        self.db = db
    }

    @inline(__always) func bind(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(s, i, v) }
    @inline(__always) func bind(_ i: Int32, _ v: UInt64) { sqlite3_bind_int64(s, i, Int64(bitPattern: v)) }
    /// Binds the string's UTF-8 up to its first NUL, if any (as a C string would be), read in place.
    func bind(_ i: Int32, _ v: String) {
        var v = v
        v.withUTF8 { b in
            let n = b.firstIndex(of: 0) ?? b.count
            guard let base = b.baseAddress, n > 0 else { sqlite3_bind_text(s, i, "", 0, transient); return }
            sqlite3_bind_text(s, i, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(n), transient)
        }
    }
    func bind(_ i: Int32, _ v: Double) { sqlite3_bind_double(s, i, v) }
    func bindNull(_ i: Int32) { sqlite3_bind_null(s, i) }
    func bindBlob(_ i: Int32, _ b: UnsafeRawBufferPointer) {
        sqlite3_bind_blob(s, i, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Int32(b.count), transient)
    }
    /// Binds a string's UTF-8 (`withUTF8`) up to its first NUL, as `bind(_:_: String)` does, in
    /// place (`bindTextNoCopy`): the bytes must stay valid until `runInPlace` has run the statement.
    @inline(__always) func bindInPlace(_ i: Int32, _ b: UnsafeBufferPointer<UInt8>) {
        bindTextNoCopy(i, UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[..<(b.firstIndex(of: 0) ?? b.count)])))
    }

    /// Runs to completion and resets, then unbinds `inPlace` (parameters bound by `bindInPlace`,
    /// whose bytes may go away after this); the error, if any.
    @inline(__always) func runInPlace(unbinding inPlace: ClosedRange<Int32>) -> StoreError? {
        let rc = sqlite3_step(s)
        let error = rc == SQLITE_DONE || rc == SQLITE_ROW ? nil : StoreError("\(db.path): \(db.lastError)")
        sqlite3_reset(s)
        for i in inPlace { sqlite3_bind_null(s, i) }
        return error
    }

    /// Binds bytes that stay valid and unchanged until the statement has run (no copy).
    @inline(__always) func bindTextNoCopy(_ i: Int32, _ b: UnsafeRawBufferPointer) {
        if let base = b.baseAddress, b.count > 0 {
            sqlite3_bind_text(s, i, base.assumingMemoryBound(to: CChar.self), Int32(b.count), nil)
        } else {
            sqlite3_bind_text(s, i, "", 0, transient)
        }
    }

    /// Steps once; true when a row is available.
    @inline(__always) func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(s)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw StoreError("\(db.path): \(db.lastError)")
    }

    @inline(__always) func reset() {
        sqlite3_reset(s)
    }

    /// Runs to completion and resets (for INSERT/UPDATE).
    @inline(__always) func run() throws(StoreError) {
        _ = try step()
        sqlite3_reset(s)
    }

    @inline(__always) func int(_ c: Int32) -> Int64 { sqlite3_column_int64(s, c) }
    func text(_ c: Int32) -> String {
        guard let p = sqlite3_column_text(s, c) else { return "" }
        return String(cString: p)
    }
    func double(_ c: Int32) -> Double { sqlite3_column_double(s, c) }
    func blob(_ c: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(s, c))
        guard n > 0, let p = sqlite3_column_blob(s, c) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    func isNull(_ c: Int32) -> Bool { sqlite3_column_type(s, c) == SQLITE_NULL }
    /// The column's bytes, valid until the next step.
    func bytes(_ c: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_text(s, c)
        let n = Int(sqlite3_column_bytes(s, c))
        return UnsafeRawBufferPointer(start: p, count: n)
    }
}

extension StoreError: ExitCoded { public var exitStatus: ExitStatus { status } }
