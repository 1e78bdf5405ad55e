#if canImport(Glibc)
import Glibc
#endif

/// What expanding the command line's inputs found.
public struct InputExpansion: Sendable, Equatable {
    /// Every real file once, sorted by path (so shard slicing is deterministic).
    public var files: [String] = []
    /// Paths that reached a file already listed (a symlink or hard link to it, a directory
    /// reached again through a link, or the same file named twice); each file is read once.
    public var duplicatePaths: [String] = []
    /// Symlinks inside a directory that point out of it; not followed (name the target to read it).
    public var linksOutOfTree: [String] = []
    /// Symlinks inside a directory whose target does not exist.
    public var brokenLinks: [String] = []

    /// One line for the log when anything was left out, else nil.
    public var note: String? {
        var parts: [String] = []
        if !duplicatePaths.isEmpty {
            parts.append("\(duplicatePaths.count) path(s) reached a file already listed (symlinks or hard links; each file is read once), e.g. \(duplicatePaths[0])")
        }
        if !linksOutOfTree.isEmpty {
            parts.append("\(linksOutOfTree.count) symlink(s) point out of the directory and were not followed (name the target to read it), e.g. \(linksOutOfTree[0])")
        }
        if !brokenLinks.isEmpty {
            parts.append("\(brokenLinks.count) broken symlink(s) left out, e.g. \(brokenLinks[0])")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

/// Expands command-line inputs: files as given (a named symlink is followed), directories
/// recursively (regular files whose names end in a known corpus suffix; hidden names skipped),
/// and glob patterns. Each real file (device and inode) is listed once, under its first path in
/// sorted order with real entries preferred over links; a directory is walked once however many
/// links reach it, so symlink loops end; symlinks that leave the directory being walked are not
/// followed. The walk stops with `Interrupted` on SIGINT/SIGTERM.
///
/// - Complexity: O(entries) directory reads and stats; memory O(files).
/// `interrupted` is polled before every entry (tests pass their own; the default is SIGINT/SIGTERM).
public func expandInputsDetailed(_ args: [String], interrupted: @escaping () -> Bool = { interruptFlag != 0 }) throws -> InputExpansion {
    var walker = InputWalker(interrupted: interrupted)
    for a in args {
        try walker.check()
        if a.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) && !fileExists(a) {
            var g = glob_t()
            defer { globfree(&g) }
            if Glibc.glob(a, 0, nil, &g) == 0 {
                var matches: [String] = []
                for k in 0..<Int(g.gl_pathc) { if let c = g.gl_pathv[k] { matches.append(String(cString: c)) } }
                for m in matches.sorted() { try walker.named(m) }
            } else {
                throw InputError(.unreadable, path: a, "no file matches this pattern")
            }
        } else {
            try walker.named(a)
        }
    }
    return walker.finish()
}

/// `expandInputsDetailed(_:)`'s files; what it left out goes to `log` in one line.
public func expandInputs(_ args: [String], log: (String) -> Void = { _ in }) throws -> [String] {
    let e = try expandInputsDetailed(args)
    if let note = e.note { log("inputs: " + note) }
    return e.files
}

private let corpusSuffixes = [".jsonl", ".json", ".ndjson", ".txt", ".text"]

/// True when a file name (after .zst/.zstd/.gz) ends in a corpus suffix.
func hasCorpusSuffix(_ name: String) -> Bool {
    var base = Substring(name)
    for suffix in [".zst", ".zstd", ".gz"] where base.hasSuffix(suffix) { base = base.dropLast(suffix.count) }
    return corpusSuffixes.contains(where: { base.hasSuffix($0) })
}

private struct InputWalker {
    let interrupted: () -> Bool
    var found: [(path: String, id: FileIdentity?)] = []
    var walkedDirs = Set<FileIdentity>()
    var result = InputExpansion()

    func check() throws {
        if interrupted() { throw Interrupted() }
    }

    mutating func named(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw InputError(.unreadable, path: path, String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            found.append((path, FileIdentity(st)))
            return
        }
        // A named directory (or link to one) is a tree root: links inside it may point anywhere
        // within it, but not out of it.
        let root = resolvedPath(path) ?? path
        try walk(path, identity: FileIdentity(st), root: root)
    }

    mutating func walk(_ dir: String, identity: FileIdentity, root: String) throws {
        guard walkedDirs.insert(identity).inserted else {
            result.duplicatePaths.append(dir)
            return
        }
        guard let d = opendir(dir) else {
            throw InputError(.unreadable, path: dir, String(cString: strerror(errno)))
        }
        var names: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            names.append(name)
        }
        closedir(d)
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        // Real entries first, links after: a file or directory reached both ways is listed
        // under its real path.
        var links: [(String, String)] = []
        for name in names {
            try check()
            let full = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            var lst = stat()
            guard lstat(full, &lst) == 0 else { continue }
            switch lst.st_mode & S_IFMT {
            case S_IFLNK:
                links.append((name, full))
            case S_IFDIR:
                try walk(full, identity: FileIdentity(lst), root: root)
            case S_IFREG:
                if hasCorpusSuffix(name) { found.append((full, FileIdentity(lst))) }
            default:
                continue
            }
        }
        for (name, full) in links {
            try check()
            var st = stat()
            guard stat(full, &st) == 0 else {
                if hasCorpusSuffix(name) { result.brokenLinks.append(full) }
                continue
            }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR
            if !isDir && !hasCorpusSuffix(name) { continue }
            guard let target = resolvedPath(full), target == root || target.hasPrefix(root == "/" ? "/" : root + "/") else {
                result.linksOutOfTree.append(full)
                continue
            }
            if isDir {
                try walk(full, identity: FileIdentity(st), root: root)
            } else if (st.st_mode & S_IFMT) == S_IFREG {
                found.append((full, FileIdentity(st)))
            }
        }
    }

    mutating func finish() -> InputExpansion {
        // The first path found for each real file wins (named files in the order given, real
        // entries before links); the winners are then sorted by path.
        var seenIds = Set<FileIdentity>()
        var seenPaths = Set<String>()
        var files: [String] = []
        for (p, id) in found {
            if !seenPaths.insert(p).inserted { result.duplicatePaths.append(p); continue }
            if let id, !seenIds.insert(id).inserted { result.duplicatePaths.append(p); continue }
            files.append(p)
        }
        result.files = files.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return result
    }
}

public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// File size in bytes, or nil when the file cannot be read.
public func fileSize(_ path: String) -> Int64? {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : nil
}
