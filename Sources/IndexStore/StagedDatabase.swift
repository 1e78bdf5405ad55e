import Support
#if canImport(Glibc)
import Glibc
#endif

/// An SQLite output built at `NAME.tailscope-tmp-PID` (locked, so `clean` and later runs leave it
/// alone while this process lives) and renamed over NAME by `finish()`: an interrupted run
/// leaves nothing that looks complete. The prune manifest and cooccur shard files use it.
final class StagedDatabase {
    let path: String
    let tmp: String
    private(set) var db: Database?
    private var lockFD: Int32 = -1

    /// `what` names the output in errors ("a manifest").
    /// With `copying`, the database starts as a copy of that file.
    init(path: String, what: String, copying source: String? = nil) throws(StoreError) {
        self.path = try regularOutputPath(path, what: what)
        tmp = TempFiles.path(for: self.path)
        _ = TempFiles.cleanLeftovers(in: directoryName(self.path), only: lastComponent(self.path))
        unlink(tmp)
        if let source { try copyFile(source, to: tmp) }
        db = try Database(path: tmp, readOnly: false)
        lockFD = TempFiles.lockFile(tmp)
    }

    /// Creates a new file's tables (`schema`, at `version`) without a journal and opens the
    /// transaction the writer commits at the end.
    func begin(schema: String, version: Int) throws(StoreError) {
        let d = db!
        try d.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA user_version = \(version);")
        try d.exec(schema)
        try d.exec("BEGIN")
    }

    /// Closes the database (committed by the caller) and renames it into place.
    func finish() throws(StoreError) {
        guard let d = db else { return }
        d.close()
        db = nil
        defer { if lockFD >= 0 { close(lockFD); lockFD = -1 } }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw StoreError("cannot move \(path) into place: \(e)")
        }
    }

    /// Closes and removes the temporary file.
    func abandon() {
        guard let d = db else { return }
        d.close()
        db = nil
        unlink(tmp)
        if lockFD >= 0 { close(lockFD); lockFD = -1 }
    }
}

/// Copies a file's bytes to a new file.
func copyFile(_ from: String, to: String) throws(StoreError) {
    let i = open(from, O_RDONLY | O_CLOEXEC)
    guard i >= 0 else { throw StoreError("cannot read \(from): \(String(cString: strerror(errno)))", status: .noInput) }
    defer { close(i) }
    let o = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard o >= 0 else { throw StoreError("cannot create \(to): \(String(cString: strerror(errno)))") }
    defer { close(o) }
    var buf = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = buf.withUnsafeMutableBytes { read(i, $0.baseAddress, $0.count) }
        if n == 0 { break }
        guard n > 0 else { unlink(to); throw StoreError("cannot read \(from): \(String(cString: strerror(errno)))") }
        var done = 0
        while done < n {
            let w = buf.withUnsafeBytes { write(o, $0.baseAddress! + done, n - done) }
            guard w > 0 else { unlink(to); throw StoreError("cannot write \(to): \(String(cString: strerror(errno)))") }
            done += w
        }
    }
}
