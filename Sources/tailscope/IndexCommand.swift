import ArgumentParser
import CorpusIO
import Indexing
import Tokenization

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Count every 1..N-gram of a corpus, exactly, into a SQLite index.",
        discussion: """
        Inputs are files, directories (searched for *.jsonl, *.json, *.ndjson, *.txt, *.text, \
        optionally .zst/.gz) or glob patterns. zstd and gzip are recognised by their magic bytes. \
        Files named *.jsonl/*.json/*.ndjson (before .zst/.gz) are JSON lines; others are text.

        A token is a maximal run of Unicode letters (L*), marks (M*) and decimal digits (Nd); \
        everything else separates. Case is folded unless --case keep. N-grams never cross documents.

        If the output exists, new sources are added to it (same settings required) and sources \
        already in it (same checksum) are skipped. The index is written to NAME.tmp-PID and renamed \
        at the end, so an interrupted run never leaves a file that looks complete.

        Examples:
          tailscope index corpus/*.jsonl.zst -o indexes/wiki.sqlite
          tailscope index books/ --doc-per paragraph --orders 1-2 --case keep -o indexes/books.sqlite
          tailscope index data/ --shard 3/16 -o shards/s03.sqlite   # then: tailscope merge shards/*.sqlite -o all.sqlite
        """
    )

    @Argument(help: "Input files, directories or glob patterns.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The index to write (or extend).", valueName: "index.sqlite"))
    var output: String

    @OptionGroup var text: CorpusTextOptions

    @Option(help: ArgumentHelp("N-gram orders: 1-N or N, with N from 1 to 5.", valueName: "1-N"))
    var orders: String = "1-3"

    @Option(name: .customLong("case"), help: ArgumentHelp("fold: lowercase every code point; keep: count case variants apart.", valueName: "fold|keep"))
    var caseMode: String = "fold"

    @Option(help: ArgumentHelp("Store n-grams of order >= 2 only when seen at least K times (stats still count all).", valueName: "K"))
    var minCount: UInt64 = 1

    @OptionGroup var build: BuildOptions

    @Option(help: ArgumentHelp("Counting threads. With --orders 1 each tokenizes and counts every n-th batch of documents into its own vocabulary (merged at the end); with n-grams each counts the n-grams of whole batches of documents (each n-gram hashed once, whatever the count). A reader thread decompresses besides. Default: all cores.", valueName: "n"))
    var jobs: Int?

    @Option(help: ArgumentHelp("On bad input (corrupt/truncated files, bad JSON lines, missing fields, empty files, over-long lines): stop with file and line, or skip and count each kind.", valueName: "stop|skip"))
    var onError: ErrorPolicy = .stop

    @Option(help: ArgumentHelp("Index only slice K of N (1-based) of the inputs, for array jobs; combine the shards with `merge`.", valueName: "K/N"))
    var shard: String?

    @Option(help: ArgumentHelp("How --shard slices: by file (round robin over sorted paths) or by document (every Nth document of every file).", valueName: "file|doc"))
    var shardBy: ShardSpec.By = .file


    @Flag(help: "Print a summary as JSON on stdout.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Progress on stderr (default: when stderr is a terminal).")
    var progress: Bool?

    func validate() throws {
        _ = try parsedOrders()
        if caseMode != "fold" && caseMode != "keep" { throw ValidationError("--case must be fold or keep") }
        if minCount < 1 { throw ValidationError("--min-count must be at least 1") }
        if let j = jobs, j < 1 { throw ValidationError("--jobs must be at least 1") }
        _ = try parsedShard()
        _ = try text.read(onError: onError)
        _ = try build.memoryBytes()
    }

    func parsedOrders() throws -> Int {
        let parts = orders.split(separator: "-", omittingEmptySubsequences: false)
        let n: Int?
        if parts.count == 1 { n = Int(parts[0]) }
        else if parts.count == 2 && parts[0] == "1" { n = Int(parts[1]) }
        else { n = nil }
        guard let n, (1...5).contains(n) else {
            throw ValidationError("--orders must be 1-N or N with N in 1...5 (unigrams are always counted), not '\(orders)'")
        }
        return n
    }

    func parsedShard() throws -> ShardSpec { try parseShard(shard, by: shardBy) }

    func run() throws {
        var o = IndexOptions(inputs: inputs, output: output)
        o.settings = IndexSettings(tokenizer: TokenizerConfig(caseFold: caseMode == "fold"),
                                   maxOrder: try parsedOrders(), minCount: minCount)
        o.memoryBytes = try build.memoryBytes()
        o.tempDir = build.tempDir
        o.jobs = jobs ?? onlineCores()
        o.read = try text.read(onError: onError)
        o.shard = try parsedShard()
        o.progress = progress ?? stderrIsTerminal()
        installInterruptHandlers()
        do {
            let r = try buildIndex(o) { printError($0 + "\n") }
            if json {
                printOut(Render.indexReportJSON(r).render())
            } else {
                printError(Render.indexReportText(r))
            }
        } catch {
            throw fail(error)
        }
    }
}

extension TextSplit: ExpressibleByArgument {}
extension ErrorPolicy: ExpressibleByArgument {}
extension ShardSpec.By: ExpressibleByArgument {}
