#if canImport(Glibc)
import Glibc
#endif

/// A file's identity on this machine: two paths name the same file exactly when their device
/// and inode numbers are equal (hard links, symlinks, `./x`, `d/../d/x` all resolve to it).
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of the file `path` names (symlinks followed), or nil when it does not exist.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }

    public init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// `path` with every symlink, `.` and `..` resolved, or nil when it does not exist.
public func resolvedPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// The directory part of a path (`.` for a bare name).
public func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// The last component of a path.
public func lastComponent(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return String(p) }
    return String(p[p.index(after: slash)...])
}

/// Where an output goes, decided before anything is written.
public enum OutputDestination: Equatable, Sendable {
    /// `-` (or `/dev/stdout`): written to file descriptor 1.
    case standardOutput
    /// An existing file that is not a regular file (a character device such as `/dev/null`, a
    /// FIFO, a socket, `/dev/fd/N`): opened and written in place, never replaced.
    case direct(String)
    /// A regular file, existing or new, at this resolved path (symlinks followed, so the link's
    /// target is replaced, not the link): written to a temporary file in the same directory and
    /// renamed over it only when complete.
    case atomic(String)

    /// Classifies `path`. Throws when it names a directory or a directory that does not exist.
    public init(_ path: String) throws(UsageError) {
        if path == "-" || path == "/dev/stdout" || path == "/dev/fd/1" || path == "/proc/self/fd/1" {
            self = .standardOutput
            return
        }
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                throw UsageError("\(path) is a directory; give a file name")
            case S_IFREG:
                // /dev/fd/N and /proc/self/fd/N name open descriptors: write through them.
                if path.hasPrefix("/dev/") || path.hasPrefix("/proc/") {
                    self = .direct(path)
                } else {
                    self = .atomic(resolvedPath(path) ?? path)
                }
            default:
                self = .direct(path)
            }
            return
        }
        // A new file. A dangling symlink is followed to the file it names.
        var target = path
        var lst = stat()
        if lstat(path, &lst) == 0, (lst.st_mode & S_IFMT) == S_IFLNK {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(path, &buf, buf.count - 1)
            if n > 0 {
                let dest = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                target = dest.hasPrefix("/") ? dest : directoryName(path) + "/" + dest
            }
        }
        let dir = directoryName(target)
        var dst = stat()
        guard stat(dir, &dst) == 0, (dst.st_mode & S_IFMT) == S_IFDIR else {
            throw UsageError("cannot write \(path): the directory \(dir) does not exist")
        }
        self = .atomic((resolvedPath(dir) ?? dir) + "/" + lastComponent(target))
    }
}

/// One path of a command line with the flag that named it, for error messages.
public struct NamedPath: Sendable {
    public let flag: String
    public let path: String
    public init(_ flag: String, _ path: String) { self.flag = flag; self.path = path }
}

/// Refuses, before anything is read or written, a command whose output is one of its inputs or
/// another of its outputs: paths are compared after resolving symlinks, `.` and `..`, and
/// existing files by (device, inode), so hard links are caught too. Devices and FIFOs (such as
/// `/dev/null`) may be named any number of times; standard output only once.
///
/// - Returns: the destination of each output, in order.
@discardableResult
public func checkOutputs(inputs: [NamedPath], outputs: [NamedPath]) throws(UsageError) -> [OutputDestination] {
    struct Seen { let flag: String; let path: String; let id: FileIdentity?; let resolved: String? }
    var ins: [Seen] = []
    for i in inputs {
        ins.append(Seen(flag: i.flag, path: i.path, id: FileIdentity(path: i.path), resolved: resolvedPath(i.path)))
    }
    var outs: [Seen] = []
    var stdoutBy: String? = nil
    var result: [OutputDestination] = []
    for o in outputs {
        let d = try OutputDestination(o.path)
        result.append(d)
        switch d {
        case .standardOutput:
            if let other = stdoutBy {
                throw UsageError("\(other) and \(o.flag) both write to standard output; give one of them a file")
            }
            stdoutBy = o.flag
        case .direct:
            continue
        case .atomic(let resolved):
            let id = FileIdentity(path: resolved)
            for i in ins where (id != nil && i.id == id) || i.resolved == resolved {
                throw UsageError("\(o.flag) \(o.path) is the same file as the input \(i.path)\(i.flag.isEmpty ? "" : " (\(i.flag))"); it would be destroyed. Write to another file")
            }
            for p in outs where (id != nil && p.id == id) || p.resolved == resolved {
                throw UsageError("\(o.flag) \(o.path) and \(p.flag) \(p.path) are the same file; give each output its own file")
            }
            outs.append(Seen(flag: o.flag, path: o.path, id: id, resolved: resolved))
        }
    }
    return result
}

/// Temporary files and directories: their names, the lock that marks them as in use, and the
/// removal of leftovers of runs that were killed (kill -9, power loss).
///
/// A temporary file is `NAME.tailscope-tmp-PID` beside its destination; a spill directory is
/// `tailscope-spill-PID-XXXXXX` in the temp dir. The owner holds an exclusive `flock` on the
/// file (on `DIR/lock` for a directory) while it runs. A leftover is removed only when its
/// process is gone and its lock is free, so a live run (even one in another PID namespace, or
/// one whose PID was reused) never loses its files.
public enum TempFiles {
    public static let fileMarker = ".tailscope-tmp-"
    public static let spillPrefix = "tailscope-spill-"

    /// This process's temporary name for `path`.
    public static func path(for path: String) -> String { path + fileMarker + "\(getpid())" }

    /// Takes an exclusive lock on an open descriptor (released when it is closed or the process dies).
    public static func lock(_ fd: Int32) { _ = flock(fd, LOCK_EX | LOCK_NB) }

    /// Opens `path` and locks it; returns the descriptor to close after the file is done with.
    public static func lockFile(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { lock(fd) }
        return fd
    }

    /// A leftover that was (or would be) removed.
    public struct Leftover: Sendable {
        public let path: String
        public let bytes: Int64
    }

    static func processAlive(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// True when someone holds the lock on `path`.
    static func locked(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK
    }

    /// The PID in a leftover's name, when it is one of ours.
    static func owner(of name: String) -> Int32? {
        if let r = lastMarker(in: name) {
            let digits = name[r...]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int32(digits)
        }
        if name.hasPrefix(spillPrefix) {
            let rest = name.dropFirst(spillPrefix.count)
            guard let dash = rest.firstIndex(of: "-") else { return nil }
            let digits = rest[..<dash]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int32(digits)
        }
        return nil
    }

    /// The index just after the last `fileMarker` in `name`.
    static func lastMarker(in name: String) -> String.Index? {
        let m = Array(fileMarker.utf8)
        let b = Array(name.utf8)
        guard b.count >= m.count else { return nil }
        var i = b.count - m.count
        while i >= 0 {
            if Array(b[i..<i + m.count]) == m { return name.utf8.index(name.utf8.startIndex, offsetBy: i + m.count) }
            i -= 1
        }
        return nil
    }

    /// Finds (and unless `dryRun`, removes) leftovers of dead runs in `dir`: temporary files of
    /// any output there, and spill directories. With `only`, just the temporary files of that
    /// output name. Entries of live runs are never touched.
    public static func cleanLeftovers(in dir: String, only name: String? = nil, dryRun: Bool = false) -> [Leftover] {
        var names: [String] = []
        for n in directoryEntries(dir) {
            if let only = name {
                if n.hasPrefix(only + fileMarker) { names.append(n) }
            } else if lastMarker(in: n) != nil || n.hasPrefix(spillPrefix) {
                names.append(n)
            }
        }
        var out: [Leftover] = []
        for n in names.sorted() {
            guard let pid = owner(of: n), !processAlive(pid) else { continue }
            let full = dir == "/" ? "/" + n : dir + "/" + n
            var st = stat()
            guard lstat(full, &st) == 0 else { continue }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR
            if isDir {
                guard n.hasPrefix(spillPrefix), !locked(full + "/lock") else { continue }
            } else {
                guard (st.st_mode & S_IFMT) == S_IFREG, !locked(full) else { continue }
            }
            let bytes = isDir ? treeBytes(full) : Int64(st.st_size)
            if !dryRun {
                if isDir { removeTree(full) } else { unlink(full) }
            }
            out.append(Leftover(path: full, bytes: bytes))
        }
        return out
    }
}

/// Bytes of the regular files under `path` (symlinks not followed).
public func treeBytes(_ path: String) -> Int64 {
    var st = stat()
    guard lstat(path, &st) == 0 else { return 0 }
    if (st.st_mode & S_IFMT) != S_IFDIR { return (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : 0 }
    return directoryEntries(path).reduce(Int64(0)) { $0 + treeBytes(path + "/" + $1) }
}

/// Removes `path` and, for a directory, everything under it (symlinks are removed, not followed).
public func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
        for n in directoryEntries(path) { removeTree(path + "/" + n) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Removes the leftovers of killed runs that a new run is about to work beside: temporary files
/// of `outputs` (same names) and spill directories in `tempDir`. Says what it freed through `log`.
@discardableResult
public func cleanLeftovers(outputs: [String], tempDir: String?, log: (String) -> Void) -> [TempFiles.Leftover] {
    var removed: [TempFiles.Leftover] = []
    for o in outputs where o != "-" {
        guard case .atomic(let p)? = try? OutputDestination(o) else { continue }
        removed += TempFiles.cleanLeftovers(in: directoryName(p), only: lastComponent(p))
    }
    if let t = tempDir {
        removed += TempFiles.cleanLeftovers(in: t).filter { lastComponent($0.path).hasPrefix(TempFiles.spillPrefix) }
    }
    if !removed.isEmpty {
        let bytes = removed.reduce(Int64(0)) { $0 + $1.bytes }
        log("removed \(removed.count) leftover(s) of killed runs, \(bytes) bytes freed: " + removed.map(\.path).joined(separator: ", "))
    }
    return removed
}

/// The names in a directory, without `.` and `..` (empty when it cannot be read).
public func directoryEntries(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let ent = readdir(d) {
        let n = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if n != "." && n != ".." { names.append(n) }
    }
    return names
}
