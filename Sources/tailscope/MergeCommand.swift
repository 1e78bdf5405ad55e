import ArgumentParser
import Indexing
import IndexStore

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Sum indexes built with the same settings into a new index, exactly.",
        discussion: """
        Typical use: shards built by an array job with `index --shard K/N`.

          tailscope merge shards/*.sqlite -o indexes/all.sqlite --memory 2GiB --jobs 4

        Merged indexes merge again (a merge tree: `tailscope slurm index --merge-fanin F` merges F \
        shards per job, level by level).

        With --into, the inputs are the shard files of one `cooccur --shard K/N -o FILE` run: \
        their counts, document frequencies and window hits are summed (shards count disjoint \
        documents) and stored in the index as one targeted run, exactly as one `cooccur` over the \
        whole corpus would have. Refuses shards of different runs (terms, window, eval files, \
        corpus), of another index, incomplete shards and incomplete sets, before writing anything.

          tailscope merge runs/nq-*.sqlite --into indexes/wiki.sqlite

        Refuses inputs with different tokenizer settings, orders or --min-count, and inputs that hold \
        the same source (they would be counted twice). Inputs built with --min-count > 1 lack their \
        rare n-grams, so the merged counts of orders >= 2 are lower bounds; the index records that.
        """
    )

    @Argument(help: "Indexes to merge.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The new index.", valueName: "index.sqlite"))
    var output: String?

    @Option(help: ArgumentHelp("Sum cooccur shards into this existing index instead.", valueName: "index.sqlite"))
    var into: String?

    @OptionGroup var build: BuildOptions

    @Option(help: ArgumentHelp("Threads reading and counting the inputs' n-grams (input i goes to thread i mod N).", valueName: "n"))
    var jobs: Int = min(4, max(1, onlineCores()))

    @Flag(help: "Print a summary as JSON on stdout.")
    var json = false

    func validate() throws {
        _ = try build.memoryBytes()
        guard (output == nil) != (into == nil) else { throw ValidationError("give -o NEW.sqlite (merge indexes) or --into INDEX (sum cooccur shards)") }
    }

    func run() throws {
        installInterruptHandlers()
        if let index = into {
            do {
                let r = try mergeTargetedShards(inputs, into: index)
                if json {
                    printOut(JSON.object([("index", .string(index)), ("shards", .int(Int64(r.shards))), ("docs", .int(r.docs)),
                                          ("tokens", .int(r.tokens)), ("terms", .int(Int64(r.terms))), ("pairs", .int(Int64(r.pairs))),
                                          ("questions", .int(Int64(r.questions)))]).render())
                } else {
                    printError("\(index): summed \(r.shards) cooccur shards (\(r.docs) docs, \(r.terms) terms, \(r.pairs) pairs, \(r.questions) questions) into one targeted run\n")
                }
            } catch {
                throw fail(error)
            }
            return
        }
        let output = self.output!
        do {
            let r = try mergeIndexes(inputs, output: output, memoryBytes: try build.memoryBytes(),
                                     tempDir: build.tempDir, jobs: max(1, jobs)) { printError($0 + "\n") }
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
