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

enum Exit {
    static let dataError: Int32 = 65
    static let noInput: Int32 = 66
    static let ioError: Int32 = 74
    static let interrupted: Int32 = 130
}

/// Prints an error to stderr and maps it to an exit code scripts can rely on.
func fail(_ error: Error) -> ExitCode {
    printError("tailscope: error: \(error)\n")
    switch error {
    case let e as InputError:
        return ExitCode(e.kind == .unreadable ? Exit.noInput : Exit.dataError)
    case let e as EvalError:
        return ExitCode(e.kind == .unreadable ? Exit.noInput : Exit.dataError)
    case is Interrupted:
        return ExitCode(Exit.interrupted)
    case is StoreError:
        return ExitCode(Exit.ioError)
    default:
        return ExitCode(Exit.dataError)
    }
}

func printOut(_ s: String) {
    print(s, terminator: s.hasSuffix("\n") ? "" : "\n")
}
