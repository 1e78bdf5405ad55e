import ArgumentParser
import CorpusIO
import Evaluation
import Indexing
import Statistics

struct ScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Does a bigger model close the gap between frequent and rare questions?",
        discussion: """
        Reads several models' results on the same questions (rows with the same --id-field, by \
        default the same question text, are one question), gives each question the frequency \
        feature x = log10(v + 1) of `correlate`, and each model its size s = log10(parameters).

        Joint model: logit P(correct) = b0 + b1 x + b2 s + b3 x s (+ --covariate terms), x and s \
        centered, fitted by IRLS, with standard errors clustered by question (the same question \
        answered by several models is not independent evidence; statsmodels' GLM with \
        cov_type='cluster' gives the same numbers). b3 < 0: the frequency slope shrinks as models \
        grow, the gap closes; b3 > 0: it widens. The slope b1 + b3 (s - mean s) is shown per size. \
        A score in [0, 1] instead of 0/1 correctness is fitted as a fractional logit (the clustered \
        errors stay valid).

        Per frequency bucket (--buckets edges on v, or --bucket-count quantile buckets of the \
        questions): each model's accuracy with Wilson 95% intervals, and accuracy against size \
        (--plot: one line per bucket). As Kandpal et al. (2022): per bucket, accuracy linear in s \
        and logistic in s, and the model size at which the rarest bucket reaches the most \
        frequent bucket's accuracy at the largest size (or --target-accuracy), with a bootstrap \
        interval over questions. It is an extrapolation from the sizes you have: with two sizes, a \
        line through two points.

        Neighbouring sizes are compared on the same questions: the difference in logistic slope \
        and in the top-vs-bottom gap, each with a paired bootstrap over questions (the same \
        resampled questions for both models) and a p-value, beside the clustered x-by-model \
        interaction test; p-values adjusted by --adjust over the comparisons.

        Only questions every model answered are used unless --unbalanced. Sizes come from \
        --sizes (model=params pairs, or a CSV file with model,params), else --size-field, else \
        the model name (gpt-j-6b, pythia-1.4b, 175B).

        Examples:
          tailscope scaling --index indexes/wiki.sqlite --eval runs/*.jsonl --model-field model \\
              --sizes sizes.csv --terms content --aggregate min --json scaling.json --plot scaling.svg
          tailscope scaling --index indexes/wiki.sqlite --eval gsm8k_model_solutions.jsonl \\
              --runs auto --run-pattern '(?<model>[^_]+)_(?<method>.+)' --group-by method \\
              --terms numbers --csv per_question.csv

        Exit status: 0 done; 64 usage (including an output that is an input or another output); 65 malformed input (file:line named) or no model sizes; 66 unreadable input; 74 cannot write an output.
        """
    )

    @Option(help: ArgumentHelp("The index (from `tailscope index`).", valueName: "index"))
    var index: String

    @OptionGroup var eval: EvalOptions

    @OptionGroup var feature: FeatureOptions

    @Option(help: ArgumentHelp("The field naming each row's model.", valueName: "field"))
    var modelField: String = "model"

    @Option(help: ArgumentHelp("Model sizes: model=params pairs (6b=6e9,175b=175e9) or a CSV file with columns model,params.", valueName: "pairs|file"))
    var sizes: String?

    @Option(help: ArgumentHelp("A field with each row's parameter count (6e9 or 6B).", valueName: "field"))
    var sizeField: String?

    @Option(help: ArgumentHelp("Bucket edges on v, e.g. 10,100,1000 (buckets v < 10, 10 ≤ v < 100, ...). Default: --bucket-count quantile buckets.", valueName: "edges"))
    var buckets: String?

    @Option(help: ArgumentHelp("Number of quantile buckets of the questions' v when --buckets is not given.", valueName: "n"))
    var bucketCount: Int = 4

    @Option(help: ArgumentHelp("Accuracy the rarest bucket must reach in the extrapolation (default: the most frequent bucket's accuracy at the largest size).", valueName: "acc"))
    var targetAccuracy: Double?

    @Option(help: ArgumentHelp("A field entered into the joint fit: numeric, or categorical as indicators. Repeatable or comma-separated.", valueName: "field"))
    var covariate: [String] = []

    @Flag(help: "Fit on every row, not only the questions every model answered (the bootstrap then resamples within each set of models).")
    var unbalanced = false

    @Option(help: ArgumentHelp("Adjustment of the comparisons' p-values: holm (family-wise), bh (false discovery rate) or none.", valueName: "holm|bh|none"))
    var adjust: String = "holm"

    @Option(help: ArgumentHelp("Write everything as JSON to this file (- for stdout; the table then goes to stderr).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write one CSV row per question x model (question, model, params, s, terms, v, x, correct, used) to this file (- for stdout).", valueName: "file"))
    var csv: String?

    @Option(help: ArgumentHelp("Write an SVG plot of accuracy vs model size, one line per frequency bucket (- for stdout).", valueName: "file"))
    var plot: String?

    func options() throws -> ScalingOptions {
        var o = ScalingOptions(features: try correlateOptions(index: index, eval: eval, feature: feature))
        o.modelField = modelField
        if let s = sizes { o.sizes = try parseSizes(s) }
        o.sizeField = sizeField
        if let b = buckets {
            let edges = b.split(separator: ",").map { Double(String($0).trimmingSpaces) }
            guard !edges.isEmpty, edges.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--buckets: '\(b)' is not a comma-separated list of counts (e.g. 10,100,1000)")
            }
            guard Set(edges.map { $0! }).count == edges.count else { throw ValidationError("--buckets: an edge is repeated") }
            o.bucketEdges = edges.map { $0! }
        }
        guard bucketCount >= 2 else { throw ValidationError("--bucket-count must be at least 2") }
        o.bucketCount = bucketCount
        if let t = targetAccuracy {
            guard t > 0 && t <= 1 else { throw ValidationError("--target-accuracy must be in (0, 1]") }
            o.targetAccuracy = t
        }
        o.covariates = covariateList(covariate)
        o.unbalanced = unbalanced
        o.adjust = try pAdjust(adjust)
        return o
    }

    func run() throws {
        let o = try options()
        do {
            var inputs = [NamedPath("--index", index)] + eval.evals.map { NamedPath("--eval", $0) }
            if let s = feature.stopwords { inputs.append(NamedPath("--stopwords", s)) }
            if let s = sizes, !s.contains("=") { inputs.append(NamedPath("--sizes", s)) }
            let outputs = [("--csv", csv), ("--json", json), ("--plot", plot)].compactMap { f, p in p.map { NamedPath(f, $0) } }
            let destinations = try checkOutputs(inputs: inputs, outputs: outputs)
            let r = try scaling(o) { printError("tailscope: \($0)\n") }
            if let path = csv { try writeTextFile(path, ScalingRender.csv(r)) }
            if let path = plot { try writeTextFile(path, ScalingRender.svg(r)) }
            if let path = json { try writeTextFile(path, ScalingRender.json(r).render() + "\n") }
            if destinations.contains(.standardOutput) { printError(ScalingRender.text(r)) } else { printOut(ScalingRender.text(r)) }
        } catch {
            throw fail(error)
        }
    }
}

    /// `a=6e9,b=175B`, or a CSV file with model and params columns (a header row is optional).
func parseSizes(_ s: String) throws -> [String: Double] {
    var pairs: [(String, String)] = []
    var isFile = false
    if !s.contains("=") {
        isFile = true
        let bytes: [UInt8]
        do { bytes = try readAllBytes(path: s) } catch {
            throw ValidationError("--sizes: '\(s)' is neither model=params pairs nor a readable CSV file (\(error))")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard cells.count >= 2, !cells[0].isEmpty, !cells[0].hasPrefix("#") else { continue }
            pairs.append((cells[0], cells[1]))
        }
        if let first = pairs.first, parseModelSize(first.1) == nil { pairs.removeFirst() } // header
    } else {
        for part in s.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard kv.count == 2 else { throw ValidationError("--sizes: '\(part)' is not model=params") }
            pairs.append((kv[0], kv[1]))
        }
    }
    var out: [String: Double] = [:]
    for (m, v) in pairs {
        guard let p = parseModelSize(v) else {
            throw ValidationError("--sizes\(isFile ? " (\(s))" : ""): '\(v)' for model '\(m)' is not a parameter count (e.g. 6e9 or 6B)")
        }
        out[m] = p
    }
    guard !out.isEmpty else { throw ValidationError("--sizes: no model,params pairs in '\(s)'") }
    return out
}

