#if canImport(Glibc)
import Glibc
#endif

/// Expands command-line inputs: files as given, directories recursively (regular files whose
/// names end in a known corpus suffix), and glob patterns. The result is sorted and de-duplicated
/// so that shard slicing is deterministic.
public func expandInputs(_ args: [String]) throws(InputError) -> [String] {
    var out: [String] = []
    for a in args {
        if a.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) && !fileExists(a) {
            var g = glob_t()
            defer { globfree(&g) }
            if Glibc.glob(a, 0, nil, &g) == 0 {
                for k in 0..<Int(g.gl_pathc) {
                    if let c = g.gl_pathv[k] { out.append(contentsOf: try expandOne(String(cString: c))) }
                }
            } else {
                throw InputError(.unreadable, path: a, "no file matches this pattern")
            }
        } else {
            out.append(contentsOf: try expandOne(a))
        }
    }
    var seen = Set<String>()
    return out.filter { seen.insert($0).inserted }.sorted()
}

private let corpusSuffixes = [".jsonl", ".json", ".ndjson", ".txt", ".text"]

private func expandOne(_ path: String) throws(InputError) -> [String] {
    var st = stat()
    guard stat(path, &st) == 0 else {
        throw InputError(.unreadable, path: path, String(cString: strerror(errno)))
    }
    if (st.st_mode & S_IFMT) != S_IFDIR { return [path] }
    guard let dir = opendir(path) else {
        throw InputError(.unreadable, path: path, String(cString: strerror(errno)))
    }
    defer { closedir(dir) }
    var out: [String] = []
    while let ent = readdir(dir) {
        let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name == "." || name == ".." || name.hasPrefix(".") { continue }
        let full = path.hasSuffix("/") ? path + name : path + "/" + name
        var s2 = stat()
        guard stat(full, &s2) == 0 else { continue }
        if (s2.st_mode & S_IFMT) == S_IFDIR {
            out.append(contentsOf: try expandOne(full))
        } else {
            var base = Substring(name)
            for suffix in [".zst", ".zstd", ".gz"] where base.hasSuffix(suffix) { base = base.dropLast(suffix.count) }
            if corpusSuffixes.contains(where: { base.hasSuffix($0) }) { out.append(full) }
        }
    }
    return out
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
