import ArgumentParser
import Indexing

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Sum indexes built with the same settings into a new index, exactly.",
        discussion: """
        Typical use: shards built by an array job with `index --shard K/N`.

          tailscope merge shards/*.sqlite -o indexes/all.sqlite --memory 2GiB

        Refuses inputs with different tokenizer settings, orders or --min-count, and inputs that hold \
        the same source (they would be counted twice). Inputs built with --min-count > 1 lack their \
        rare n-grams, so the merged counts of orders >= 2 are lower bounds; the index records that.
        """
    )

    @Argument(help: "Indexes to merge.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The new index.", valueName: "index.sqlite"))
    var output: String

    @OptionGroup var build: BuildOptions

    @Flag(help: "Print a summary as JSON on stdout.")
    var json = false

    func validate() throws { _ = try build.memoryBytes() }

    func run() throws {
        installInterruptHandlers()
        do {
            let r = try mergeIndexes(inputs, output: output, memoryBytes: try build.memoryBytes(),
                                     tempDir: build.tempDir) { printError($0 + "\n") }
            if json {
                printOut(JSON.object([("output", .string(output)), ("inputs", .array(r.inputs.map { .string($0) })),
                                      ("docs", .int(r.docs)), ("tokens", .int(r.tokens)),
                                      ("spills", .int(Int64(r.spills))), ("seconds", .double(r.seconds))]).render())
            } else {
                printError("\(output): merged \(r.inputs.count) indexes, \(r.docs) docs, \(r.tokens) tokens in \(Int(r.seconds * 10) / 10) s\n")
            }
        } catch {
            throw fail(error)
        }
    }
}
