import ArgumentParser
import CorpusIO
import Evaluation
import Indexing
import Statistics

/// Eval-file options shared by `correlate`, `cooccur` and `report`.
struct EvalOptions: ParsableArguments {
    @Option(name: .customLong("eval"), help: ArgumentHelp("Per-question results: JSON lines, a JSON array, CSV (by extension) or lm-evaluation-harness samples_*.jsonl (every version's format; see docs/eval-formats.md); .zst/.gz allowed. Repeatable.", valueName: "file"))
    var evals: [String] = []

    @Option(help: ArgumentHelp("Field with the question text (dotted path; default question, or the question inside doc for lm-eval samples).", valueName: "field"))
    var questionField: String?

    @Option(help: ArgumentHelp("Field with the gold answer: a string or a list of aliases (default answer; for lm-eval samples the gold choice of multiple-choice tasks, the aliases of a list target, the number after #### for GSM8K, else target).", valueName: "field"))
    var answerField: String?

    @Option(help: ArgumentHelp("Field with correctness: true/false, 0/1 or a score in [0,1] (default correct or is_correct; acc, exact_match or acc_norm for lm-eval; a missing field names the ones that would do).", valueName: "field"))
    var correctField: String?

    @Option(help: ArgumentHelp("Field with a question id: rows with the same id are the same question, paired across models and conditions (default: task and doc_id for lm-eval samples, else the question text, lowercased, white space collapsed).", valueName: "field"))
    var idField: String?

    @Option(help: ArgumentHelp("lm-eval samples with several filters (gsm8k's strict-match and flexible-extract log every doc once per filter): the filter whose rows are read (default: the first in each file; the choice is said on stderr).", valueName: "name"))
    var filter: String?

    @Option(help: ArgumentHelp("Wide files: the fields that are runs, comma-separated, or `auto` for every field whose value is an object holding the correctness field; each run becomes a row, with the run's key as the field `run`.", valueName: "fields|auto"))
    var runs: String?

    @Option(help: ArgumentHelp("With --runs: a regular expression whose named groups split each run key into fields, e.g. '(?<model>[^_]+)_(?<method>.+)' for 6b_finetuning.", valueName: "regex"))
    var runPattern: String?

    @Option(help: ArgumentHelp("Comma-separated fields to group by, e.g. model,method. `task` names an lm-eval file's task, `file` the eval file.", valueName: "fields"))
    var groupBy: String?

    @Option(help: ArgumentHelp("What to do with a malformed row: stop (exit 65, naming file and line) or skip (count it).", valueName: "stop|skip"))
    var onError: String = "stop"

    var groupFields: [String] { groupBy.map { $0.split(separator: ",").map { String($0).trimmingSpaces } } ?? [] }

    func fields() -> EvalFields {
        var f = EvalFields()
        f.question = questionField
        f.answer = answerField
        f.correct = correctField
        f.id = idField
        f.groupBy = groupFields
        if let r = runs {
            f.runs = r == "auto" ? ["*"] : r.split(separator: ",").map { String($0).trimmingSpaces }
        }
        f.runPattern = runPattern
        f.filter = filter
        return f
    }

    func policy() throws -> ErrorPolicy {
        guard let p = ErrorPolicy(rawValue: onError) else { throw ValidationError("--on-error must be stop or skip") }
        return p
    }
}

/// The eval and feature flags as library options: what `correlate`, `scaling` and `report` share.
func correlateOptions(index: String, eval: EvalOptions, feature: FeatureOptions) throws -> CorrelateOptions {
    guard !eval.evals.isEmpty else { throw ValidationError("give at least one --eval file") }
    var o = CorrelateOptions(index: index, evals: eval.evals)
    o.fields = eval.fields()
    o.onError = try eval.policy()
    try feature.apply(to: &o)
    return o
}

/// `--covariate` values: repeatable, each comma-separated.
func covariateList(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map { String($0).trimmingSpaces } }.filter { !$0.isEmpty }
}

/// `--adjust holm|bh|none`.
func pAdjust(_ s: String) throws -> PAdjust {
    guard let a = PAdjust(rawValue: s) else { throw ValidationError("--adjust must be holm, bh or none") }
    return a
}

func parseTermSpecs(_ s: String, option: String) throws -> [TermSpec] {
    try s.split(separator: ",").map { part in
        guard let t = TermSpec(String(part).trimmingSpaces) else {
            throw ValidationError("\(option): '\(part)' is not numbers, answer, content, entities, field:NAME\(option == "--terms" ? " or qa-cooccurrence" : "")")
        }
        return t
    }
}

func readStopwords(_ path: String?) throws -> Set<String> {
    guard let path else { return defaultStopwords }
    let bytes = try readAllBytes(path: path)
    return Set(String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" })
        .map { String($0).trimmingSpaces.lowercased() }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
}

struct CorrelateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correlate",
        abstract: "Relate per-question model accuracy to corpus frequency (tail brittleness).",
        discussion: """
        For every question, the terms chosen by --terms are tokenized with the index's settings and \
        counted in the index (set-based lookups); --aggregate turns a question's term counts into one \
        value v, and the feature is x = log10(v + 1). Per group (--group-by) it reports N and \
        accuracy; Spearman rho and Kendall tau-b of correctness vs x with p-values and bootstrap 95% \
        intervals; Pearson (point-biserial) r; a logistic regression of correctness on x (slope per \
        10x frequency, standard error, p, odds ratio); binned accuracy with Wilson intervals; and the \
        gap between the top and bottom --gap-quantile of questions by frequency. Groups with fewer \
        than 10 questions, or without variation in x, get n/a and the reason instead of statistics.

        Groups that differ only in --compare (default: the last group-by field) are compared: the \
        difference in logistic slope and in gap, each with a bootstrap interval and p-value. \
        Questions both groups answered (same --id-field, by default the same question text) are \
        paired: resampled together, so that a comparison of two prompts or models on the same \
        questions is not treated as two independent samples. Beside it, the x-by-group \
        interaction of one logistic fit with errors clustered by question. p-values are adjusted \
        over the comparisons (--adjust holm|bh|none).

        --terms (comma-separated, combined):
          numbers          every number in the question (Razeghi et al. 2022)
          answer           the gold answer (aliases: the most frequent counts)
          field:NAME       terms listed in a field (string, list, or list of alias lists)
          content          question tokens that are not stopwords (--stopwords FILE to replace the list)
          entities         the entities of a gazetteer (--entities FILE) found in the question
          qa-cooccurrence  documents with a question term and the answer, from `tailscope cooccur`
                           (--measure df), or co-occurrences within --window tokens (--measure count)
        Terms longer than the index's orders are counted from a `tailscope cooccur` pass when one \
        counted them, and otherwise reported as uncounted. Questions with no countable term are \
        counted and left out of the statistics.

        Examples:
          tailscope correlate --index indexes/wiki.sqlite --eval results.jsonl \\
              --group-by dataset,method --terms numbers --aggregate min --plot acc.svg
          tailscope correlate --index indexes/wiki.sqlite --eval samples_gsm8k_2024-01-01T00-00-00.jsonl \\
              --group-by task --terms content --json out.json --csv per_question.csv

        Exit status: 0 done; 64 usage (including an output that is an input or another output); 65 malformed input (file:line named); 66 unreadable input; 74 cannot write an output.
        """
    )

    @Option(help: ArgumentHelp("The index (from `tailscope index`).", valueName: "index"))
    var index: String

    @OptionGroup var eval: EvalOptions

    @OptionGroup var feature: FeatureOptions

    @Option(help: ArgumentHelp("The group-by field that varies between compared groups.", valueName: "field"))
    var compare: String?

    @Option(help: ArgumentHelp("The observation of the statistics: question; term (Razeghi et al.: each distinct term of --terms, its accuracy averaged over the questions holding it; the gap is Δ, top vs bottom --gap-quantile of terms by frequency, with a bootstrap over terms; --csv writes one row per term); or pair (each question-side pair of --pairs, counted by `cooccur --pairs`).", valueName: "question|term|pair"))
    var unit: String = "question"

    @Option(help: ArgumentHelp("With --unit pair: the question-side pairs, as given to `cooccur --pairs` (numbers, keywords:times,plus or both).", valueName: "spec"))
    var pairs: String = "numbers"

    @Flag(help: "Per-question features of an eval set without model results (NQ-open, a benchmark before its runs): no correctness is read, no statistics computed; --csv and --json hold every question's terms and v.")
    var featuresOnly = false

    @Option(help: ArgumentHelp("Adjustment of the comparisons' p-values: holm (family-wise), bh (false discovery rate) or none.", valueName: "holm|bh|none"))
    var adjust: String = "holm"

    @Option(help: ArgumentHelp("A field entered into each group's logistic fit beside x (numeric, or categorical as indicators); the slope is then adjusted for it. Repeatable or comma-separated.", valueName: "field"))
    var covariate: [String] = []

    @Option(help: ArgumentHelp("Write everything as JSON to this file (- for stdout; the table then goes to stderr).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write one CSV row per question to this file (- for stdout).", valueName: "file"))
    var csv: String?

    @Option(help: ArgumentHelp("Write an SVG plot of binned accuracy vs frequency, one line per group (- for stdout).", valueName: "file"))
    var plot: String?

    func options() throws -> CorrelateOptions {
        var o = try correlateOptions(index: index, eval: eval, feature: feature)
        o.compare = compare
        o.featuresOnly = featuresOnly
        guard let u = CorrelateUnit(rawValue: unit) else { throw ValidationError("--unit must be question, term or pair") }
        o.unit = u
        guard let ps = QuestionPairSpec(pairs) else { throw ValidationError("--pairs must be numbers, keywords:W1,W2,... or numbers,keywords:W1,...") }
        o.pairs = ps
        o.covariates = covariateList(covariate)
        if u != .question && !o.covariates.isEmpty { throw ValidationError("--covariate works per question; it cannot be used with --unit \(unit)") }
        if u != .question && o.qaCooccurrence { throw ValidationError("--unit term needs terms counted one by one (numbers, content, answer, field:NAME, entities), not qa-cooccurrence") }
        o.adjust = try pAdjust(adjust)
        return o
    }

    func run() throws {
        let o = try options()
        do {
            // Outputs never overwrite an input or each other; `-` is standard output (once).
            var inputs = [NamedPath("--index", index)] + eval.evals.map { NamedPath("--eval", $0) }
            if let s = feature.stopwords { inputs.append(NamedPath("--stopwords", s)) }
            let outputs = [("--csv", csv), ("--json", json), ("--plot", plot)].compactMap { f, p in p.map { NamedPath(f, $0) } }
            let destinations = try checkOutputs(inputs: inputs, outputs: outputs)
            let r = try correlate(o) { printError("tailscope: \($0)\n") }
            if let path = csv { try writeTextFile(path, CorrelateRender.csv(r)) }
            if let path = plot { try writeTextFile(path, CorrelateRender.svg(r)) }
            if let path = json { try writeTextFile(path, CorrelateRender.json(r).render() + "\n") }
            // The table goes to stdout unless an output took it; then to stderr.
            if destinations.contains(.standardOutput) { printError(CorrelateRender.text(r)) } else { printOut(CorrelateRender.text(r)) }
        } catch {
            throw fail(error)
        }
    }
}

/// How questions become frequency features, and the statistics' settings: shared by `correlate`
/// and `report`.
struct FeatureOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Which terms to count per question (see below).", valueName: "specs"))
    var terms: String = "content"

    @Option(help: ArgumentHelp("Question-side terms for qa-cooccurrence (as given to `cooccur`).", valueName: "specs"))
    var questionTerms: String = "content"

    @Option(help: ArgumentHelp("Question entities for qa-cooccurrence: a field listing them (a string, a list, or lists of aliases); the same as --question-terms field:FIELD.", valueName: "field"))
    var questionEntities: String?

    @Option(help: ArgumentHelp("A gazetteer: one entity a line, tab-separated aliases after its name. The question's entities are the longest non-overlapping matches in its text; they become the question terms of qa-cooccurrence (and `entities` works in --terms).", valueName: "file"))
    var entities: String?

    @Option(help: ArgumentHelp("qa-cooccurrence: any (documents with any question term and the answer) or best-pair (Kandpal et al.: the question-term/answer pair with the most shared documents). Default: best-pair with --question-entities or field: terms, else any.", valueName: "any|best-pair"))
    var relevant: String?

    @Option(help: ArgumentHelp("Skip terms counted fewer than K times (misspellings under --aggregate min); how many were skipped is said on stderr.", valueName: "K"))
    var minTermCount: UInt64 = 0

    @Option(help: ArgumentHelp("Window of qa-cooccurrence, in tokens.", valueName: "tokens"))
    var window: Int = 5

    @Option(help: ArgumentHelp("How a question's term counts become v: min, max, mean, sum or product.", valueName: "how"))
    var aggregate: String = "min"

    @Option(help: ArgumentHelp("count (occurrences) or df (documents).", valueName: "count|df"))
    var measure: String = "count"

    @Option(help: ArgumentHelp("Bins for binned accuracy: N quantile bins, `log` (10 log-spaced bins) or log:N.", valueName: "N|log|log:N"))
    var bins: String = "10"

    @Option(help: ArgumentHelp("Bootstrap resamples for the intervals.", valueName: "n"))
    var bootstrap: Int = 1000

    @Option(help: ArgumentHelp("Seed of the bootstrap.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Share of questions at each end for the top-vs-bottom gap.", valueName: "q"))
    var gapQuantile: Double = 0.1


    @Option(help: ArgumentHelp("Stopword list for --terms content, one word per line.", valueName: "file"))
    var stopwords: String?

    func apply(to o: inout CorrelateOptions) throws {
        let specs = terms.split(separator: ",").map { String($0).trimmingSpaces }
        if specs.contains("qa-cooccurrence") {
            guard specs.count == 1 else { throw ValidationError("--terms qa-cooccurrence cannot be combined with other terms") }
            o.qaCooccurrence = true
            o.terms = []
        } else {
            o.terms = try parseTermSpecs(terms, option: "--terms")
        }
        o.questionTerms = try parseTermSpecs(questionTerms, option: "--question-terms")
        if let e = questionEntities { o.questionTerms = [.field(e)] }
        if let e = entities {
            o.entities = e
            if questionEntities == nil { o.questionTerms = [.entities] }
        }
        if let r = relevant {
            guard let v = Relevant(rawValue: r) else { throw ValidationError("--relevant must be any or best-pair") }
            o.relevant = v
        }
        o.minTermCount = minTermCount
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        o.window = window
        guard let a = Aggregate(rawValue: aggregate) else { throw ValidationError("--aggregate must be one of \(Aggregate.allCases.map(\.rawValue).joined(separator: ", "))") }
        o.aggregate = a
        guard let m = Measure(rawValue: measure) else { throw ValidationError("--measure must be count or df") }
        o.measure = m
        if let n = Int(bins), n >= 1 {
            o.bins = n; o.binScheme = .quantile
        } else if bins == "log" {
            o.bins = 10; o.binScheme = .log
        } else if bins.hasPrefix("log:"), let n = Int(bins.dropFirst(4)), n >= 1 {
            o.bins = n; o.binScheme = .log
        } else {
            throw ValidationError("--bins must be a positive number, log or log:N")
        }
        guard bootstrap >= 0 else { throw ValidationError("--bootstrap must be >= 0") }
        o.bootstrap = bootstrap
        o.seed = seed
        guard gapQuantile > 0 && gapQuantile <= 0.5 else { throw ValidationError("--gap-quantile must be in (0, 0.5]") }
        o.gapQuantile = gapQuantile
        o.stopwords = try readStopwords(stopwords)
    }
}
