import ArgumentParser
import CorpusIO
import Evaluation
import Indexing
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a tail-coverage report of an eval set in a corpus (HTML, Markdown, JSON).",
        discussion: """
        Writes into the output directory:
          index.html   self-contained page (inline SVG and CSS, no scripts, no network)
          report.md    the same content in Markdown, with the figures as .svg files beside it
          report.json  every number
        and prints the path of index.html.

        Contents: the corpus (documents, tokens, types per order, hapax share, the rank-frequency \
        plot with a Zipf exponent fitted over log-spaced ranks where the power law is judged, and the share of tokens \
        covered by the top 10 ... 100k types); per eval set (--group-by, default: per file) the \
        distribution of the questions' values v (by default the count of the rarest content term; \
        --terms/--aggregate/--measure as in `correlate`) on log bins, the share of questions below \
        each --thresholds edge, gold answers never seen in the corpus, and the rarest questions; \
        when every question has correctness, accuracy per bucket with Wilson intervals, the \
        `correlate` statistics and the accuracy-vs-frequency plot; and, with --corpus, the share of \
        questions that share a --contamination-n token n-gram (default 13) with the corpus.

        Several models on the same questions (--model-field): the question distributions are shown \
        once per question set (each question once), accuracy per model side by side (a bucket x \
        model table), statistics per model (never pooled over models), and a Scale section: \
        accuracy against model size per bucket, the size-by-frequency interaction with errors \
        clustered by question, and the extrapolation of `tailscope scaling`.

        Examples:
          tailscope report --index indexes/wiki.sqlite --eval results.jsonl --group-by dataset \\
              --terms numbers -o reports/wiki-vs-arith/
          tailscope report --index indexes/wiki.sqlite --eval NQ-open.dev.jsonl \\
              --corpus corpus/*.jsonl.zst -o reports/wiki-vs-nq/

        Exit status: 0 done; 64 usage (including an output that would replace an input); 65 malformed input (file:line named); 66 unreadable input; 74 cannot write; 130 interrupted.
        """
    )

    @Option(help: ArgumentHelp("The index (from `tailscope index`).", valueName: "index"))
    var index: String

    @OptionGroup var eval: EvalOptions

    @OptionGroup var feature: FeatureOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Directory to write the report into (created if missing); not with --shard.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Comma-separated bucket edges on v: buckets 0, <t1, t1-<t2, ..., >=tk.", valueName: "t1,t2,..."))
    var thresholds: String = "10,100,1000,10000"

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Corpus files to scan for n-grams shared with the questions (contamination).", valueName: "files"))
    var corpus: [String] = []

    @Option(help: ArgumentHelp("Length in tokens of the n-grams the contamination scan looks for.", valueName: "n"))
    var contaminationN: Int = 13

    @Option(help: ArgumentHelp("Scan only slice K of N of --corpus for contamination and write the shard to --contamination-shard (no report); `--contamination-shards FILES` then reports from all N.", valueName: "K/N"))
    var shard: String?

    @Option(help: ArgumentHelp("How --shard slices: by file or by document.", valueName: "file|doc"))
    var shardBy: ShardSpec.By = .file

    @Option(help: ArgumentHelp("With --shard: the contamination shard file to write (JSON).", valueName: "file"))
    var contaminationShard: String?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Contamination from the shard files of a sharded scan (all N) instead of scanning --corpus.", valueName: "files"))
    var contaminationShards: [String] = []

    @OptionGroup var text: CorpusTextOptions

    @Option(help: ArgumentHelp("How many of the rarest questions to list per eval set.", valueName: "n"))
    var rarest: Int = 20

    @Option(help: ArgumentHelp("The field naming the model when several models answered the same questions: question distributions are shown once, accuracy per model side by side, and a Scale section (as `tailscope scaling`) when the models have sizes. --group-by model implies --model-field model.", valueName: "field"))
    var modelField: String?

    @Option(help: ArgumentHelp("With --model-field: model sizes as model=params pairs or a CSV file of model,params (default: from --size-field or the model names).", valueName: "pairs|file"))
    var sizes: String?

    @Option(help: ArgumentHelp("With --model-field: a field with each row's parameter count.", valueName: "field"))
    var sizeField: String?

    func run() throws {
        var o = ReportOptions(features: try correlateOptions(index: index, eval: eval, feature: feature))
        let edges = thresholds.split(separator: ",").map { Double(String($0).trimmingSpaces) }
        guard !edges.isEmpty, edges.allSatisfy({ $0 != nil && $0! > 0 }), zip(edges, edges.dropFirst()).allSatisfy({ $0! < $1! }) else {
            throw ValidationError("--thresholds must be increasing positive numbers, e.g. 10,100,1000")
        }
        o.thresholds = edges.map { $0! }
        guard contaminationN >= 1 else { throw ValidationError("--contamination-n must be at least 1") }
        o.contaminationN = contaminationN
        o.corpus = corpus
        o.contaminationShards = contaminationShards
        if !contaminationShards.isEmpty && !corpus.isEmpty { throw ValidationError("give --corpus (scan here) or --contamination-shards (scanned by shards), not both") }
        o.read = try text.read(onError: o.features.onError)
        guard rarest >= 0 else { throw ValidationError("--rarest must be >= 0") }
        o.rarest = rarest
        o.progress = stderrIsTerminal()
        o.modelField = modelField
        if modelField == nil && eval.groupFields.contains("model") {
            // Grouping by model repeats the question distribution per model; show it once.
            o.modelField = "model"
            printError("tailscope: --group-by model: the models are shown side by side on each question set (--model-field model)\n")
        }
        if let s = sizes { o.sizes = try parseSizes(s) }
        o.sizeField = sizeField
        if modelField == nil && (sizes != nil || sizeField != nil) { throw ValidationError("--sizes and --size-field need --model-field") }
        installInterruptHandlers()
        if shard != nil {
            let spec = try parseShard(shard, by: shardBy)
            guard let out = contaminationShard, !corpus.isEmpty else { throw ValidationError("--shard scans --corpus into --contamination-shard FILE") }
            do {
                var inputs = [NamedPath("--index", index)] + eval.evals.map { NamedPath("--eval", $0) }
                inputs += try expandInputs(corpus).map { NamedPath("--corpus", $0) }
                _ = try checkOutputs(inputs: inputs, outputs: [NamedPath("--contamination-shard", out)])
                let j = try Report.contaminationShard(o, shard: spec) { printError("tailscope: \($0)\n") }
                try writeTextFile(out, j.render() + "\n")
                printOut(out)
            } catch {
                throw fail(error)
            }
            return
        }
        guard let output else { throw ValidationError("give the report's folder with -o DIR") }
        do {
            var inputs = [NamedPath("--index", index)] + eval.evals.map { NamedPath("--eval", $0) }
            inputs += try expandInputs(corpus).map { NamedPath("--corpus", $0) }
            inputs += contaminationShards.map { NamedPath("--contamination-shards", $0) }
            try ReportWriter.checkDestination(output, inputs: inputs)
            let r = try buildTailReport(o) { printError("tailscope: \($0)\n") }
            try ReportWriter.write(r, to: output)
            let dir = output.hasSuffix("/") ? String(output.dropLast()) : output
            printOut(dir + "/index.html")
        } catch {
            throw fail(error)
        }
    }
}
