import Foundation
import Indexing
import Tokenization

/// Helpers shared by the test targets: temp directories, compressed fixtures, real data paths,
/// and an independent n-gram counter written for obviousness, not speed.
public enum TestSupport {
    /// A fresh temporary directory, removed by the caller with `cleanup`.
    public static func tempDir(_ name: String = #function) -> String {
        let base = NSTemporaryDirectory() + "tailscope-tests-" + name.filter { $0.isLetter || $0.isNumber } + "-" + UUID().uuidString.prefix(8)
        try! FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        return base
    }

    public static func cleanup(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

    public static func write(_ path: String, _ text: String) {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    public static func write(_ path: String, bytes: [UInt8]) {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    public static func read(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }

    /// Runs a program; returns (exit code, stdout, stderr).
    @discardableResult
    public static func run(_ exe: String, _ args: [String], stdin: String? = nil) -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe.hasPrefix("/") ? exe : "/usr/bin/env")
        p.arguments = exe.hasPrefix("/") ? args : [exe] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try! p.run()
        // Read both pipes fully before waiting, so a chatty child cannot block.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// Compresses with the zstd / gzip command-line tools.
    public static func zstd(_ src: String, _ dst: String, extra: [String] = []) {
        let (rc, _, e) = run("zstd", ["-q", "-f"] + extra + [src, "-o", dst])
        precondition(rc == 0, e)
    }

    public static func gzip(_ src: String, _ dst: String) {
        let (rc, out, e) = run("/bin/sh", ["-c", "gzip -c '\(src)' > '\(dst)'"])
        precondition(rc == 0, e + out)
    }

    /// The package root (…/Tests/TestSupport/TestSupport.swift -> …).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The fortunes corpus obtained by `datasets/fetch_fortunes.sh`, if present.
    public static func fortunes(_ ext: String) -> String? {
        let p = packageRoot + "/datasets/data/fortunes." + ext
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// A file of `../shared/datasets`, if present beside the repository.
    public static func shared(_ rel: String) -> String? {
        let p = packageRoot + "/../shared/datasets/" + rel
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// The tokenizer definition, written independently with Swift's own Unicode properties:
    /// a token is a maximal run of scalars in L*, M*, Nd; case folding lowercases each scalar alone.
    public static func referenceTokens(_ text: String, fold: Bool = true) -> [String] {
        var out: [String] = []
        var cur = ""
        for s in text.unicodeScalars {
            let isTok: Bool
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber:
                isTok = true
            default:
                isTok = false
            }
            if isTok {
                cur += fold ? s.properties.lowercaseMapping : String(s)
            } else if !cur.isEmpty {
                out.append(cur)
                cur = ""
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// Counts every 1..maxOrder-gram with a dictionary: key "n\tw1 w2 ..." -> (count, df).
    public static func referenceCounts(_ docs: [[String]], maxOrder: Int) -> [String: (UInt64, UInt64)] {
        var counts: [String: (UInt64, UInt64)] = [:]
        for toks in docs {
            var seen = Set<String>()
            for n in 1...maxOrder where toks.count >= n {
                for i in 0...(toks.count - n) {
                    let key = "\(n)\t" + toks[i..<(i + n)].joined(separator: " ")
                    var v = counts[key] ?? (0, 0)
                    v.0 += 1
                    if seen.insert(key).inserted { v.1 += 1 }
                    counts[key] = v
                }
            }
        }
        return counts
    }

    /// Random documents over a small vocabulary, so n-grams repeat and tables fill.
    public static func randomDocs(count: Int, vocab: Int, maxLen: Int, seed: UInt64) -> [[String]] {
        var rng = SplitMix(seed: seed)
        let words = (0..<vocab).map { "w\($0)" }
        return (0..<count).map { _ in
            let len = Int(rng.next() % UInt64(maxLen + 1))
            return (0..<len).map { _ in
                // Skewed: low ids far more often (a Zipf-like tail).
                let r = Double(rng.next() % 1_000_000) / 1_000_000
                return words[min(vocab - 1, Int(Double(vocab) * r * r * r))]
            }
        }
    }
}

/// A small deterministic generator.
public struct SplitMix {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds an index of `docs` (one JSON line each) in `dir`.
public func buildTestIndex(_ dir: String, docs: [String], orders: Int = 3) throws -> String {
    let corpus = dir + "/corpus.jsonl"
    TestSupport.write(corpus, docs.map { "{\"text\": \"\($0)\"}" }.joined(separator: "\n") + "\n")
    var o = IndexOptions(inputs: [corpus], output: dir + "/i.sqlite")
    o.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: true), maxOrder: orders, minCount: 1)
    o.memoryBytes = 64 << 20
    o.tempDir = dir
    _ = try buildIndex(o) { _ in }
    return o.output
}

