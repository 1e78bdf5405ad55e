#if canImport(Glibc)
import Glibc
#endif

/// An output file written so that a failed or interrupted run never leaves something that looks
/// complete, and nothing but a regular file is ever replaced:
/// - a regular file (new or existing) is written to `NAME.tailscope-tmp-PID` beside it, synced,
///   and renamed over NAME by `commit()`; `abandon()` (or dropping it uncommitted) removes the
///   temporary file and leaves NAME as it was;
/// - `-` and `/dev/stdout` are written to standard output;
/// - a device, FIFO or socket (`/dev/null`, a named pipe) is opened and written in place.
///
/// Leftover temporary files of the same name whose process is gone are removed first.
public final class OutputFile {
    public let path: String
    public let destination: OutputDestination
    private var fd: Int32
    private let temp: String?
    private var done = false
    /// Bytes written so far.
    public private(set) var bytesWritten: Int64 = 0

    public init(path: String) throws {
        self.path = path
        destination = try OutputDestination(path)
        switch destination {
        case .standardOutput:
            fd = 1
            temp = nil
        case .direct(let p):
            fd = open(p, O_WRONLY | O_CLOEXEC)
            temp = nil
            guard fd >= 0 else { throw OutputError(path: path, errnoText()) }
        case .atomic(let p):
            _ = TempFiles.cleanLeftovers(in: directoryName(p), only: lastComponent(p))
            let t = TempFiles.path(for: p)
            fd = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw OutputError(path: path, errnoText()) }
            TempFiles.lock(fd)
            temp = t
        }
    }

    deinit { if !done { abandon() } }

    /// True when the bytes go to standard output.
    public var isStandardOutput: Bool { destination == .standardOutput }

    public func write(_ p: UnsafeRawPointer, _ n: Int) throws(OutputError) {
        var off = 0
        while off < n {
            let w = Glibc.write(fd, p + off, n - off)
            if w < 0 {
                if errno == EINTR { continue }
                throw OutputError(path: path, errnoText())
            }
            off += w
        }
        bytesWritten += Int64(n)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        if let b = bytes.baseAddress, bytes.count > 0 { try write(b, bytes.count) }
    }

    public func write(_ bytes: [UInt8]) throws(OutputError) {
        let r: OutputError? = bytes.withUnsafeBytes { b -> OutputError? in
            do throws(OutputError) { try write(b) } catch { return error }
            return nil
        }
        if let r { throw r }
    }

    public func write(_ s: String) throws(OutputError) {
        try write(Array(s.utf8))
    }

    /// Makes the output final: for a regular file, syncs and renames the temporary file into place.
    public func commit() throws(OutputError) {
        precondition(!done)
        done = true
        guard let t = temp, case .atomic(let final) = destination else {
            if fd > 2 { close(fd) }
            fd = -1
            return
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let e = errnoText()
            fd = -1
            unlink(t)
            throw OutputError(path: path, e)
        }
        fd = -1
        guard rename(t, final) == 0 else {
            let e = errnoText()
            unlink(t)
            throw OutputError(path: path, e)
        }
    }

    /// Drops the output: the temporary file is removed and an existing file at `path` is left as
    /// it was. (Bytes already sent to standard output or a device cannot be taken back.)
    public func abandon() {
        done = true
        if fd > 2 { close(fd) }
        fd = -1
        if let t = temp { unlink(t) }
    }
}

/// Writes a whole text output at once through `OutputFile`.
public func writeOutput(_ path: String, _ text: String) throws {
    let f = try OutputFile(path: path)
    do {
        try f.write(text)
        try f.commit()
    } catch {
        f.abandon()
        throw error
    }
}
