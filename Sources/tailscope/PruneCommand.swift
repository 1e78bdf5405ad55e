import ArgumentParser
import CorpusIO
import Curation
import Evaluation
import Indexing
import IndexStore

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Curate a corpus to a smaller subset (dedup, decontamination, near-dup, balancing, tail or prototype keeping), recording every decision.",
        discussion: """
        Steps run in this order; each sees only the documents the steps before it kept:
          --dedup exact        drop a document whose normalized token sequence (the index's tokenizer: \
        case folded, punctuation and spacing removed) equals an earlier one's; the first is kept
          --decontaminate F    drop a document sharing any --contamination-n token n-gram (default 13) \
        with a question or answer of the eval files F (field flags as in `correlate`)
          --near-dup T         MinHash over --shingle-token shingles (default 5) with LSH banding: drop a \
        document whose estimated Jaccard similarity to an earlier kept one is >= T
          --balance T          MetaCLIP balancing: entries are the index's unigrams (or --entries FILE); \
        an entry with count c (documents holding it) is kept with probability min(1, T/c) by a draw \
        seeded with --seed; a document is kept if any of its entries is (a document with no entry is dropped)
          --keep tail|head     keep the documents whose rarest content terms are rarest (tail) or most \
        common (head) in the index, up to --target-fraction of the input documents or --target-tokens
          --keep hard|easy     Sorscher et al.'s prototype metric on text: hashed TF-IDF vectors (1024 \
        dims, idf from the index), spherical k-means with --clusters K (default 100) on a seeded sample \
        of up to 20,000 documents, score = cosine distance to the nearest centroid; hard keeps the \
        farthest, easy the most prototypical. Costs one more read of the corpus

        Out: the kept records in input order, in the input's format (JSONL lines byte for byte, with \
        every field) or as -o's name says (.jsonl: text documents become {"text": ...}), compressed by \
        the name's suffix (.zst multi-threaded zstd, .gz, else none), written atomically. \
        --manifest writes a SQLite file with one row per input document (decision, step, reason, \
        evidence, score) and one per step; --explain DOC looks a document up in it. A before/after \
        summary (documents, tokens, types, hapax share, and with --eval the coverage of the eval \
        questions' content terms) goes to stderr, and to stdout as JSON with --json.

        Examples:
          tailscope prune corpus/*.jsonl.zst -o curated.jsonl.zst --index indexes/wiki.sqlite \\
              --dedup exact --near-dup 0.8 --decontaminate gsm8k_test.jsonl --balance 20000 \\
              --keep tail --target-fraction 0.5 --seed 7 --manifest curated.manifest.sqlite
          tailscope prune corpus.jsonl.zst --dedup exact --decontaminate eval.jsonl --dry-run
          tailscope prune --explain 1234 --manifest curated.manifest.sqlite

        In phases, for a corpus split over processes or machines (the result equals one process: \
        the same kept documents, the same manifest rows). Give every phase the same inputs and step flags:
          --shard K/N --plan DIR     each shard stores its documents' features in DIR
          --resolve DIR              once: every decision, in global document order
          --shard K/N --apply DIR -o part-K.jsonl.zst
                                     each shard writes its kept documents
          --finish DIR [--manifest M]
                                     once: the before/after summary and the complete manifest
        A phase whose file in DIR is complete for the same settings is skipped on a rerun. \
        `tailscope slurm prune` runs the phases as Slurm jobs. --keep hard|easy runs in one process only.

        Exit status: 0 done; 64 usage; 65 malformed input (file:line named); 66 unreadable input; \
        74 cannot write; 130 interrupted (nothing written).
        """
    )

    @Argument(help: ArgumentHelp("Corpus files, directories or globs (.jsonl/.txt, optionally .zst/.gz).", valueName: "files"))
    var inputs: [String] = []

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The curated corpus (.jsonl.zst, .txt.gz, ...; - for JSONL on standard output). Never an input: refused before reading if it is the same file as one.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Write the per-document record of decisions here (SQLite).", valueName: "file"))
    var manifest: String?

    @Option(help: ArgumentHelp("The index: counts for --balance and --keep, and its tokenizer settings.", valueName: "index"))
    var index: String?

    @Option(help: ArgumentHelp("Drop exact duplicates of the normalized text.", valueName: "exact"))
    var dedup: String?

    @Option(help: ArgumentHelp("Drop near-duplicates: estimated Jaccard similarity >= T to an earlier kept document.", valueName: "T"))
    var nearDup: Double?

    @Option(help: ArgumentHelp("Shingle length in tokens for --near-dup.", valueName: "n"))
    var shingle: Int = 5

    @Option(help: ArgumentHelp("MinHash permutations for --near-dup (bands and rows are chosen for T).", valueName: "n"))
    var permutations: Int = 128

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Eval files (JSONL/CSV) whose questions and answers must not leak into the output.", valueName: "files"))
    var decontaminate: [String] = []

    @Option(help: ArgumentHelp("Length in tokens of the n-grams --decontaminate looks for.", valueName: "n"))
    var contaminationN: Int = 13

    @Option(help: ArgumentHelp("MetaCLIP balancing threshold: keep an entry of count c with probability min(1, T/c).", valueName: "T"))
    var balance: Double?

    @Option(help: ArgumentHelp("Balancing entries, one term or phrase per line (default: the index's unigrams).", valueName: "file"))
    var entries: String?

    @Option(help: ArgumentHelp("Keep the tail (rarest content terms), head, hard (far from every prototype) or easy (prototypical) part of what the other steps kept.", valueName: "tail|head|hard|easy"))
    var keep: String?

    @Option(help: ArgumentHelp("With --keep hard|easy: k-means clusters (prototypes).", valueName: "K"))
    var clusters: Int = 100

    @Option(help: ArgumentHelp("With --keep: keep this fraction of the input documents.", valueName: "F"))
    var targetFraction: Double?

    @Option(help: ArgumentHelp("With --keep: keep documents in score order up to this many tokens.", valueName: "N"))
    var targetTokens: Int64?

    @Option(help: ArgumentHelp("With --keep: the score averages log10(1+count) over this many of a document's rarest content terms.", valueName: "k"))
    var rarestTerms: Int = 5

    @Option(help: ArgumentHelp("Seed for --balance draws, MinHash permutations and the k-means sample and start.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Phases: the slice K of N (1-based) that --plan or --apply reads.", valueName: "K/N"))
    var shard: String?

    @Option(help: ArgumentHelp("How --shard slices: by file (round robin over sorted paths) or by document (every Nth document of every file).", valueName: "file|doc"))
    var shardBy: ShardSpec.By = .file

    @Option(help: ArgumentHelp("Phase 1: store the features of the --shard's documents in DIR.", valueName: "DIR"))
    var plan: String?

    @Option(help: ArgumentHelp("Phase 2: decide every document from the plans in DIR.", valueName: "DIR"))
    var resolve: String?

    @Option(help: ArgumentHelp("Phase 3: write the --shard's kept documents to -o.", valueName: "DIR"))
    var apply: String?

    @Option(help: ArgumentHelp("Phase 4: sum the shards' results and complete the manifest (DIR/manifest.sqlite, or --manifest).", valueName: "DIR"))
    var finish: String?

    @Flag(help: "Decide and measure the output exactly (documents, tokens, bytes) without writing it.")
    var dryRun = false

    @OptionGroup var eval: EvalOptions

    @OptionGroup var text: CorpusTextOptions

    @Option(help: ArgumentHelp("Stopword list for content terms, one word per line.", valueName: "file"))
    var stopwords: String?

    @Option(help: ArgumentHelp("zstd level of the output (1-19; gzip uses min(level, 9)).", valueName: "n"))
    var level: Int = 3

    @Option(help: ArgumentHelp("Show why a document was kept or dropped: its number or FILE:LINE (needs --manifest).", valueName: "doc"))
    var explain: String?

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Progress on stderr (default: when stderr is a terminal).")
    var progress = stderrIsTerminal()

    func run() throws {
        if let key = explain {
            guard let m = manifest else { throw ValidationError("--explain reads a manifest: give --manifest FILE") }
            do {
                try explainDocument(key, manifest: m)
            } catch let e as ExitCode {
                throw e
            } catch {
                throw fail(error)
            }
            return
        }
        guard !inputs.isEmpty else { throw ValidationError("give the corpus files to prune") }
        if json && output == "-" { throw ValidationError("-o - writes the corpus to standard output; --json cannot share it (the summary is on stderr)") }
        var o = PruneOptions(inputs: inputs)
        o.output = output
        o.manifest = manifest
        o.index = index
        if let d = dedup {
            guard d == "exact" else { throw ValidationError("--dedup: only 'exact' is supported (use --near-dup T for near duplicates)") }
            o.dedupExact = true
        }
        if let t = nearDup {
            guard t > 0 && t <= 1 else { throw ValidationError("--near-dup: T must be in (0, 1]") }
            o.nearDup = t
        }
        guard shingle >= 1 else { throw ValidationError("--shingle must be at least 1") }
        guard (1...1024).contains(permutations) else { throw ValidationError("--permutations must be in 1...1024") }
        o.shingle = shingle
        o.perms = permutations
        o.decontaminate = decontaminate
        guard contaminationN >= 1 else { throw ValidationError("--contamination-n must be at least 1") }
        o.contaminationN = contaminationN
        if let t = balance {
            guard t > 0 else { throw ValidationError("--balance: T must be positive") }
            o.balance = t
        }
        if entries != nil && balance == nil { throw ValidationError("--entries goes with --balance T") }
        o.entriesFile = entries
        if let k = keep {
            guard let m = KeepMode(rawValue: k) else { throw ValidationError("--keep must be tail, head, hard or easy") }
            o.keep = m
        }
        guard clusters >= 1 else { throw ValidationError("--clusters must be at least 1") }
        o.clusters = clusters
        if let f = targetFraction {
            guard f > 0 && f <= 1 else { throw ValidationError("--target-fraction must be in (0, 1]") }
            o.targetFraction = f
        }
        if let n = targetTokens {
            guard n > 0 else { throw ValidationError("--target-tokens must be positive") }
            o.targetTokens = n
        }
        if (targetFraction != nil || targetTokens != nil) && keep == nil { throw ValidationError("--target-fraction/--target-tokens go with --keep") }
        guard rarestTerms >= 1 else { throw ValidationError("--rarest-terms must be at least 1") }
        o.rarestK = rarestTerms
        o.seed = seed
        o.dryRun = dryRun
        o.coverageEvals = eval.evals
        o.evalFields = eval.fields()
        o.read.onError = try eval.policy()
        o.read = try text.read(onError: o.read.onError)
        o.stopwords = try readStopwords(stopwords)
        guard (1...19).contains(level) else { throw ValidationError("--level must be in 1...19") }
        o.zstdLevel = output.map { OutputCompression.forName($0) == .gzip ? min(level, 9) : level } ?? level
        o.progress = progress
        let phases = [plan, resolve, apply, finish].compactMap { $0 }
        guard phases.count <= 1 else { throw ValidationError("give one phase at a time: --plan, --resolve, --apply or --finish") }
        var phase: PrunePhase? = nil
        if let d = plan { phase = .plan(dir: d, shard: try parseShard(shard, by: shardBy)) }
        if let d = apply { phase = .apply(dir: d, shard: try parseShard(shard, by: shardBy)) }
        if let d = resolve { phase = .resolve(dir: d) }
        if let d = finish { phase = .finish(dir: d) }
        if phase == nil && shard != nil { throw ValidationError("--shard goes with a phase: --plan DIR or --apply DIR") }
        if (resolve != nil || finish != nil) && shard != nil { throw ValidationError("--resolve and --finish run once over all shards; leave out --shard") }
        if (plan != nil || resolve != nil) && output != nil { throw ValidationError("-o goes with --apply (each shard's curated part) or with a run in one process") }
        if (plan != nil || resolve != nil || apply != nil) && manifest != nil { throw ValidationError("--manifest goes with --finish (the phases keep theirs in the work directory)") }
        installInterruptHandlers()
        do {
            if let phase {
                let r = try prunePhase(phase, o) { printError("tailscope: \($0)\n") }
                printError(PruneRender.text(r))
                if json { printOut(PruneRender.json(r).render()) }
                return
            }
            let r = try prune(o) { printError("tailscope: \($0)\n") }
            printError(PruneRender.text(r))
            if json { printOut(PruneRender.json(r).render()) }
        } catch let e as PruneUsageError {
            throw ValidationError(e.description)
        } catch {
            throw fail(error)
        }
    }

    private func explainDocument(_ key: String, manifest: String) throws {
        let r = try ManifestReader(path: manifest)
        let rows = try r.find(key)
        guard !rows.isEmpty else {
            printError("tailscope: no document \(key) in \(manifest)\n")
            throw ExitCode(ExitStatus.dataError.rawValue)
        }
        if json {
            printOut(JSON.array(rows.map(PruneRender.json)).render())
            return
        }
        for d in rows { printOut(PruneRender.explain(d)) }
    }
}
