import CorpusIO
#if canImport(Glibc)
import Glibc
#endif

// lm-evaluation-harness `samples_<task>_<timestamp>.jsonl` files, in the shapes its versions
// write: one JSON object per line (0.4.3 and later; `arguments` as {gen_args_0: {arg_0, arg_1}},
// log-likelihoods as strings), one JSON array per file (0.4.0-0.4.2), and the 2023 pre-0.4 logs
// (`arguments` a list, native floats and booleans). Each sample holds the task's `doc`, the
// `target` (what the harness's doc_to_target gave), the model's responses, the `filter` that
// produced them (tasks with several filters log every doc once per filter), and the per-sample
// metrics (`acc`, `exact_match`, ...) as top-level fields.

/// Fields of a sample that are bookkeeping, not metrics.
let lmEvalBookkeeping: Set<String> = ["doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter",
                                      "metrics", "doc_hash", "prompt_hash", "target_hash"]

/// Where the question text sits in the `doc` of the common tasks: ARC, MMLU, TriviaQA, NQ-open,
/// GSM8K (`question`), OpenBookQA (`question_stem`), HellaSwag (`query`, `ctx`), PIQA (`goal`),
/// WinoGrande (`sentence`), and generic shapes.
let lmEvalQuestionKeys = ["question", "question_stem", "query", "problem", "input", "sentence", "goal", "ctx", "text", "prompt", "context"]

/// The choices of a multiple-choice doc, in the task-specific shapes: `choices: [...]` (MMLU,
/// HellaSwag after preprocessing), `choices: {text: [...], label: [...]}` (ARC, OpenBookQA),
/// `endings` (HellaSwag raw), `sol1`/`sol2` (PIQA), `option1`/`option2` (WinoGrande), `options`.
/// With labels (A, B, ...) when the doc has them.
func lmEvalChoices(_ doc: JSONValue) -> (texts: [String], labels: [String])? {
    func strings(_ v: JSONValue?) -> [String]? {
        guard case .array(let a)? = v else { return nil }
        let s = a.compactMap(\.scalarText)
        return s.count == a.count && !s.isEmpty ? s : nil
    }
    if let t = strings(doc.at(path: "choices")) { return (t, []) }
    if case .object? = doc.at(path: "choices"), let t = strings(doc.at(path: "choices.text")) {
        return (t, strings(doc.at(path: "choices.label")) ?? [])
    }
    if let t = strings(doc.at(path: "endings")) { return (t, []) }
    if let a = doc.at(path: "sol1")?.scalarText, let b = doc.at(path: "sol2")?.scalarText { return ([a, b], []) }
    if let a = doc.at(path: "option1")?.scalarText, let b = doc.at(path: "option2")?.scalarText { return ([a, b], []) }
    if let t = strings(doc.at(path: "options")) { return (t, []) }
    return nil
}

/// The answer options of a log-likelihood multiple-choice sample, from its requests: one
/// (context, continuation) pair per choice, `arguments` as `{gen_args_0: {arg_0, arg_1}, ...}`
/// (0.4.3 on) or a list of pairs (earlier). Tasks whose choices are not in the doc (SciQ's
/// distractors, BoolQ's no/yes, COPA) are read this way. Nil unless every request has a text
/// continuation and there are at least two.
func lmEvalArgumentChoices(_ v: JSONValue) -> [String]? {
    var conts: [String] = []
    switch v.at(path: "arguments") {
    case .object(let o)?:
        let keys = o.keys.filter { $0.hasPrefix("gen_args_") }.sorted { (Int($0.dropFirst(9)) ?? 0) < (Int($1.dropFirst(9)) ?? 0) }
        for k in keys {
            guard case .string(let c)? = o[k]?.at(path: "arg_1") else { return nil }
            conts.append(c)
        }
    case .array(let items)?:
        for item in items {
            guard case .array(let pair) = item, pair.count >= 2, case .string(let c) = pair[1] else { return nil }
            conts.append(c)
        }
    default:
        return nil
    }
    guard conts.count >= 2 else { return nil }
    return conts.map { $0.trimmingSpaces.trimmed("\n") }
}

/// A Python list literal of strings, as the harness logs a list-valued target
/// (`"['Sunset Blvd', \"Sunset Boulevard\"]"`): nil when the text is not one.
func parsePythonStringList(_ text: String) -> [String]? {
    let s = Array(text.unicodeScalars)
    var i = 0
    func skipSpace() { while i < s.count && (s[i] == " " || s[i] == "\n" || s[i] == "\t" || s[i] == "\r") { i += 1 } }
    skipSpace()
    guard i < s.count, s[i] == "[" else { return nil }
    i += 1
    var out: [String] = []
    skipSpace()
    if i < s.count && s[i] == "]" { i += 1; skipSpace(); return i == s.count ? [] : nil }
    while i < s.count {
        skipSpace()
        guard i < s.count, s[i] == "'" || s[i] == "\"" else { return nil }
        let quote = s[i]
        i += 1
        var item = String.UnicodeScalarView()
        var closed = false
        while i < s.count {
            let c = s[i]
            if c == "\\" && i + 1 < s.count {
                let n = s[i + 1]
                switch n {
                case "n": item.append("\n")
                case "t": item.append("\t")
                case "\\", "'", "\"": item.append(n)
                default: item.append(c); item.append(n)
                }
                i += 2
                continue
            }
            if c == quote { closed = true; i += 1; break }
            item.append(c)
            i += 1
        }
        guard closed else { return nil }
        out.append(String(item))
        skipSpace()
        guard i < s.count else { return nil }
        if s[i] == "," { i += 1; skipSpace(); if i < s.count && s[i] == "]" { i += 1; break }; continue }
        if s[i] == "]" { i += 1; break }
        return nil
    }
    skipSpace()
    return i == s.count ? out : nil
}

/// The gold answer (with aliases) of an lm-eval sample:
/// - multiple choice: `target` is the gold choice's index (an int, or since 0.4.4 a string of
///   digits) or its label (`A`), mapped through the doc's choices, or else through the
///   continuations of the sample's requests; WinoGrande's gold option comes from `doc.answer`
///   (its target is the sentence's continuation);
/// - TriviaQA / NQ-open: a list target, a stringified Python list, or `doc.answer.{value, aliases}`;
/// - GSM8K: the number after `####` in the worked solution;
/// - otherwise the target's text.
func lmEvalAnswers(_ v: JSONValue) -> [String] {
    let doc = v.at(path: "doc") ?? .object([:])
    let target = v.at(path: "target")
    // WinoGrande: the options and the 1-based answer are in the doc.
    if let a = doc.at(path: "option1")?.scalarText, let b = doc.at(path: "option2")?.scalarText,
       let ans = doc.at(path: "answer")?.scalarText, ans == "1" || ans == "2" {
        return [ans == "1" ? a : b]
    }
    if let choices = lmEvalChoices(doc) ?? lmEvalArgumentChoices(v).map({ ($0, [String]()) }) {
        var index: Int? = nil
        switch target {
        case .number(let d, _)? where d >= 0 && d == d.rounded() && d < 1e9: index = Int(d)
        case .string(let t)?:
            let t = t.trimmingSpaces
            if let k = Int(t) { index = k } else if let k = choices.labels.firstIndex(of: t) { index = k }
        default: break
        }
        if let k = index, k >= 0, k < choices.texts.count { return [choices.texts[k]] }
    }
    // Aliases in the doc (TriviaQA's raw shape).
    if case .array(let al)? = doc.at(path: "answer.aliases") {
        var out = doc.at(path: "answer.value")?.scalarText.map { [$0] } ?? []
        for a in al { if let s = a.scalarText, !out.contains(s) { out.append(s) } }
        if !out.isEmpty { return out }
    }
    switch target {
    case .array(let items)?:
        return items.compactMap(\.scalarText)
    case .string(let t)?:
        if let list = parsePythonStringList(t) { return list }
        if let r = t.lastRange(of: "####") {
            let ans = String(t[r.upperBound...]).trimmed(" \t\n\r")
            if !ans.isEmpty { return [ans] }
        }
        return [t]
    case .number(_, let text)?:
        return [text]
    default:
        return []
    }
}

extension String {
    func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }

    func lastRange(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty, count >= needle.count else { return nil }
        var i = endIndex
        while true {
            guard let start = index(i, offsetBy: -needle.count, limitedBy: startIndex) else { return nil }
            if self[start...].hasPrefix(needle) { return start..<index(start, offsetBy: needle.count) }
            if start == startIndex { return nil }
            i = index(before: i)
        }
    }
}

/// The model of the samples files in a folder, from the `results_*.json` the harness writes
/// beside them: its `model_name`, else `config.model_name`, else the `pretrained=` (or `model=`)
/// entry of `config.model_args`, else `config.model`. With several results files, the one whose
/// timestamp matches the samples file's; nil when there is none or they disagree.
func lmEvalModel(samplesPath: String) -> String? {
    let dir = samplesPath.contains("/") ? String(samplesPath[..<samplesPath.lastIndex(of: "/")!]) : "."
    guard let entries = try? directoryEntries(dir) else { return nil }
    let results = entries.filter { $0.hasPrefix("results_") && ($0.hasSuffix(".json") || $0.hasSuffix(".json.gz") || $0.hasSuffix(".json.zst")) }.sorted()
    guard !results.isEmpty else { return nil }
    func model(_ file: String) -> String? {
        guard let bytes = try? readAllBytes(path: dir + "/" + file),
              let v = try? bytes.withUnsafeBytes({ try JSONValue.parse($0) }) else { return nil }
        if let m = v.at(path: "model_name")?.scalarText, !m.isEmpty { return m }
        if let m = v.at(path: "config.model_name")?.scalarText, !m.isEmpty { return m }
        if let args = v.at(path: "config.model_args")?.scalarText {
            for part in args.split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
                if kv.count == 2 && (kv[0] == "pretrained" || kv[0] == "model" || kv[0] == "engine") { return kv[1] }
            }
        }
        if case .object(let args)? = v.at(path: "config.model_args") {
            for k in ["pretrained", "model", "engine"] { if let m = args[k]?.scalarText { return m } }
        }
        return v.at(path: "config.model")?.scalarText
    }
    // samples_<task>_<timestamp>.jsonl <-> results_<timestamp>.json
    let name = baseName(samplesPath)
    if let us = name.lastIndex(of: "_") {
        var stamp = String(name[name.index(after: us)...])
        for ext in [".zst", ".gz", ".jsonl"] where stamp.hasSuffix(ext) { stamp = String(stamp.dropLast(ext.count)) }
        if let match = results.first(where: { $0.hasPrefix("results_" + stamp + ".json") }) { return model(match) }
    }
    let models = Set(results.compactMap(model))
    return models.count == 1 ? models.first : nil
}

/// What `--filter` chose in one lm-eval file with several filters.
public struct FilterChoice: Sendable {
    public let path: String
    public let chosen: String
    public let available: [String]
    /// Rows of the other filters, left out.
    public let dropped: Int
}
