import ArgumentParser
import CorpusIO
import Evaluation
import Indexing
import IndexStore

/// Options that every command which builds an index shares.
struct BuildOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Memory budget for counting (e.g. 512MiB, 1GiB). Tables spill sorted runs to --temp-dir beyond it. Default: a quarter of RAM.", valueName: "size"))
    var memory: String?

    @Option(help: ArgumentHelp("Directory for spill runs.", valueName: "dir"))
    var tempDir: String = "/tmp"

    func memoryBytes() throws -> Int {
        guard let m = memory else { return physicalMemory() / 4 }
        guard let b = parseByteSize(m), b >= 1 << 20 else {
            throw ValidationError("--memory: '\(m)' is not a size of at least 1MiB (try 512MiB or 2GiB)")
        }
        return b
    }
}

/// `--shard K/N` (1 <= K <= N) with its `--shard-by`: one parser for index, cooccur and report.
func parseShard(_ s: String?, by: ShardSpec.By) throws -> ShardSpec {
    guard let s else { return ShardSpec(index: 1, count: 1, by: by) }
    let p = s.split(separator: "/")
    guard p.count == 2, let k = Int(p[0]), let n = Int(p[1]), n >= 1, k >= 1, k <= n else {
        throw ValidationError("--shard must be K/N with 1 <= K <= N, not '\(s)'")
    }
    return ShardSpec(index: k, count: n, by: by)
}

/// Prints an error to stderr and maps it to its documented exit status (`exitStatus(for:)`,
/// one mapping for every command; see `ExitStatus`).
func fail(_ error: Error) -> Error {
    if error is ExitCode || error is CleanExit { return error }
    if let e = error as? UsageError { return ValidationError(e.description) }
    printError("tailscope: error: \(error)\n")
    return ExitCode(exitStatus(for: error).rawValue)
}

func printOut(_ s: String) {
    print(s, terminator: s.hasSuffix("\n") ? "" : "\n")
}
