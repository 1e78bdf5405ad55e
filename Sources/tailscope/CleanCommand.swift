import ArgumentParser
import Indexing

struct CleanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Remove what killed runs left behind: temporary outputs and spill directories.",
        discussion: """
        A run writes its outputs to NAME.tailscope-tmp-PID beside NAME and its spill runs to \
        --temp-dir/tailscope-spill-PID-XXXXXX, and removes them when it finishes, fails or is \
        interrupted. Only kill -9 (or a crash or power loss) leaves them. Every later run removes \
        the leftovers beside its own outputs and in its temp dir; this command does it for whole \
        folders. A leftover is removed only when its process is gone and no process holds its \
        lock, so a run that is still going never loses its files.

          tailscope clean                      # the current folder and /tmp
          tailscope clean indexes/ --temp-dir /scratch --dry-run

        Exit status: 0 done (also when there was nothing to remove); 64 usage.
        """
    )

    @Argument(help: ArgumentHelp("Folders holding outputs (default: the current folder).", valueName: "dir"))
    var dirs: [String] = []

    @Option(help: ArgumentHelp("The spill folder runs were given (--temp-dir); searched too.", valueName: "dir"))
    var tempDir: String = "/tmp"

    @Flag(help: "List what would be removed without removing it.")
    var dryRun = false

    @Flag(help: "Print JSON instead of lines.")
    var json = false

    func run() throws {
        var removed: [TempFiles.Leftover] = []
        var seen = Set<String>()
        for d in (dirs.isEmpty ? ["."] : dirs) + [tempDir] {
            guard let real = resolvedPath(d), seen.insert(real).inserted else { continue }
            removed += TempFiles.cleanLeftovers(in: d, dryRun: dryRun)
        }
        let bytes = removed.reduce(Int64(0)) { $0 + $1.bytes }
        if json {
            printOut(JSON.object([("dry_run", .bool(dryRun)), ("bytes", .int(bytes)),
                                  ("removed", .array(removed.map { .object([("path", .string($0.path)), ("bytes", .int($0.bytes))]) }))]).render())
            return
        }
        for l in removed { printOut("\(dryRun ? "would remove" : "removed") \(l.path) (\(formatBytes(Double(l.bytes))))") }
        printError("\(removed.count) leftover(s), \(formatBytes(Double(bytes))) \(dryRun ? "would be freed" : "freed")\n")
    }
}
