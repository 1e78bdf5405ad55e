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
    init(path: String, what: String) throws(StoreError) {
        self.path = try regularOutputPath(path, what: what)
        tmp = TempFiles.path(for: self.path)
        _ = TempFiles.cleanLeftovers(in: directoryName(self.path), only: lastComponent(self.path))
        unlink(tmp)
        db = try Database(path: tmp, readOnly: false)
        lockFD = TempFiles.lockFile(tmp)
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
