import ArgumentParser
import CorpusIO
import Evaluation
import Indexing

struct CooccurCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cooccur",
        abstract: "Count question-answer co-occurrence (and long terms) in one pass over the corpus.",
        discussion: """
        Streams the corpus once with a token-level Aho-Corasick automaton over every term the eval \
        set asks about (question terms, answers and their aliases, and --terms), and stores in the \
        index, in one transaction (replacing the run of an earlier call with the same --window, \
        question terms, eval and corpus files):
          - each term's occurrences and document frequency (so `correlate` can use terms longer \
        than the index's orders);
          - per question: the number of documents that contain a question term and the answer (the \
        "relevant documents" of Kandpal et al. 2022), and the number of times a question term and \
        the answer occur within --window tokens (non-overlapping occurrences whose starts are at \
        most W tokens apart; Razeghi et al. 2022 used W = 5);
          - the same two numbers per (question term, answer) pair.
        The corpus files must be sources of the index (same size, checked first, and same \
        checksum, read during the pass and checked before anything is stored; a shard by file \
        checks the files it reads). Then:

          tailscope correlate --index I --eval E --terms qa-cooccurrence --measure df

        Example:
          tailscope cooccur --index indexes/wiki.sqlite --eval nq.jsonl --answer-field answer \\
              --corpus corpus/*.jsonl.zst --window 5

        Exit status: 0 done; 64 usage; 65 malformed input; 66 unreadable input; 74 index error; 130 interrupted.
        """
    )

    @Option(help: ArgumentHelp("The index to add the counts to.", valueName: "index"))
    var index: String

    @OptionGroup var eval: EvalOptions

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Corpus files, directories or globs (the index's sources).", valueName: "files"))
    var corpus: [String] = []

    @Option(help: ArgumentHelp("Question-side terms paired with the answer: numbers, content, field:NAME.", valueName: "specs"))
    var questionTerms: String = "content"

    @Option(help: ArgumentHelp("Question entities paired with the answer: a field listing them (a string, a list, or lists of aliases); the same as --question-terms field:FIELD. Every entity/answer pair is stored, so `correlate --relevant best-pair` can take the pair with the most shared documents (Kandpal et al.).", valueName: "field"))
    var questionEntities: String?

    @Option(help: ArgumentHelp("A gazetteer: one entity a line, tab-separated aliases after its name; the question's entities (longest non-overlapping matches) are the question terms. Give the same file to `correlate --entities`.", valueName: "file"))
    var entities: String?

    @Option(help: ArgumentHelp("Also count question-side pairs in the same pass (Razeghi et al.): numbers (every pair of a question's numbers), keywords:times,plus,minus (each number with each keyword the question holds), or both, comma-separated. `correlate --unit pair` reads them.", valueName: "spec"))
    var pairs: String?

    @Option(help: ArgumentHelp("More terms to count, e.g. numbers or field:entity (for terms longer than the index's orders).", valueName: "specs"))
    var terms: String?

    @Option(help: ArgumentHelp("Window in tokens for co-occurrence counts.", valueName: "tokens"))
    var window: Int = 5

    @Option(help: ArgumentHelp("Count only slice K of N (1-based) of the corpus, for array jobs; the counts go to -o, and `merge --into INDEX` sums the N shards into the index.", valueName: "K/N"))
    var shard: String?

    @Option(help: ArgumentHelp("How --shard slices: by file (round robin over sorted paths) or by document (every Nth document of every file).", valueName: "file|doc"))
    var shardBy: ShardSpec.By = .file

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("With --shard: the shard file to write (a rerun skips it when it is complete for the same settings and inputs).", valueName: "shard.sqlite"))
    var output: String?

    @OptionGroup var text: CorpusTextOptions

    @Option(help: ArgumentHelp("Stopword list for content terms, one word per line.", valueName: "file"))
    var stopwords: String?

    @Flag(help: "Print JSON instead of a summary.")
    var json = false

    func run() throws {
        guard !eval.evals.isEmpty else { throw ValidationError("give at least one --eval file") }
        guard !corpus.isEmpty else { throw ValidationError("give the corpus with --corpus") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        var o = CooccurOptions(index: index, evals: eval.evals, corpus: corpus)
        o.fields = eval.fields()
        o.onError = try eval.policy()
        o.questionTerms = try parseTermSpecs(questionTerms, option: "--question-terms")
        if let e = questionEntities { o.questionTerms = [.field(e)] }
        if let p = pairs {
            guard let spec = QuestionPairSpec(p) else { throw ValidationError("--pairs must be numbers, keywords:W1,W2,... or numbers,keywords:W1,...") }
            o.pairs = spec
        }
        if let e = entities {
            o.entities = e
            if questionEntities == nil { o.questionTerms = [.entities] }
        }
        o.extraTerms = try terms.map { try parseTermSpecs($0, option: "--terms") } ?? []
        o.window = window
        o.read = try text.read(onError: o.onError)
        if shard != nil {
            guard output != nil else { throw ValidationError("--shard writes a shard file: give it with -o (then `tailscope merge SHARDS --into INDEX`)") }
            o.shard = try parseShard(shard, by: shardBy)
        }
        o.shardOutput = output
        o.stopwords = try readStopwords(stopwords)
        o.progress = stderrIsTerminal()
        installInterruptHandlers()
        do {
            if let out = output {
                var inputs = [NamedPath("--index", index)] + eval.evals.map { NamedPath("--eval", $0) }
                inputs += try expandInputs(corpus).map { NamedPath("--corpus", $0) }
                _ = try checkOutputs(inputs: inputs, outputs: [NamedPath("-o", out)])
            }
            let r = try cooccur(o) { printError("tailscope: \($0)\n") }
            printOut(json ? CooccurRender.json(r, o).render() : CooccurRender.text(r, o))
        } catch {
            throw fail(error)
        }
    }
}

/// How a corpus is read: one option group for `index`, `cooccur`, `report --corpus` and `prune`,
/// filling one `ReadOptions`.
struct CorpusTextOptions: ParsableArguments {
    @Option(help: ArgumentHelp("JSON field holding a document's text; a dotted path for nested fields (meta.body).", valueName: "path"))
    var textField: String = "text"

    @Option(help: ArgumentHelp("Input layout: auto (JSON lines for *.jsonl, *.json, *.ndjson before .zst/.gz; text otherwise), jsonl or text.", valueName: "auto|jsonl|text"))
    var format: InputFormat = .auto

    @Option(help: ArgumentHelp("For text inputs: each non-empty line, each blank-line-separated paragraph, or each file is a document.", valueName: "line|paragraph|file"))
    var docPer: TextSplit = .line

    @Option(help: ArgumentHelp("Longest accepted line or document, in bytes (e.g. 64MiB).", valueName: "size"))
    var maxLine: String = "64MiB"

    /// The reading options; `onError` comes from the command's own flag.
    func read(onError: ErrorPolicy) throws -> ReadOptions {
        guard let m = parseByteSize(maxLine), m >= 1024 else { throw ValidationError("--max-line: '\(maxLine)' is not a size of at least 1KiB (try 64MiB)") }
        var r = ReadOptions()
        r.textField = textField
        r.jsonl = format.jsonl
        r.docPer = docPer
        r.onError = onError
        r.maxLineBytes = m
        return r
    }
}

extension InputFormat: ExpressibleByArgument {}
