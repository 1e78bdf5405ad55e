import ArgumentParser
import CorpusIO
import Evaluation
import Indexing

struct EntitiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entities",
        abstract: "Write a gazetteer from a corpus field (Wikipedia titles are entities) for --entities.",
        discussion: """
        Reads one JSON field of every document (default `title`) and writes one entity a line, the \
        most frequent first. Add aliases by hand after a tab. `cooccur --entities FILE` then finds \
        each question's entities (the longest non-overlapping matches in its text) and counts, per \
        entity, the documents that hold it and the answer; `correlate --entities FILE --terms \
        qa-cooccurrence --measure df` takes the entity with the most such documents (Kandpal et al. \
        2022's relevant documents). An entity whose every token is a stopword is never matched.

          tailscope entities enwiki.jsonl.zst --field title -o indexes/titles.tsv

        Exit status: 0 done; 64 usage; 65 malformed input; 66 unreadable input; 74 cannot write.
        """
    )

    @Argument(help: ArgumentHelp("Corpus files (JSON lines; .zst/.gz allowed), directories or globs.", valueName: "corpus"))
    var corpus: [String]

    @Option(help: ArgumentHelp("The JSON field naming an entity.", valueName: "field"))
    var field: String = "title"

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The gazetteer to write (- for stdout).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("What to do with a malformed line: stop or skip.", valueName: "stop|skip"))
    var onError: String = "stop"

    func run() throws {
        guard let policy = ErrorPolicy(rawValue: onError) else { throw ValidationError("--on-error must be stop or skip") }
        do {
            let files = try expandInputs(corpus) { printError("tailscope: \($0)\n") }
            _ = try checkOutputs(inputs: files.map { NamedPath("corpus", $0) }, outputs: [NamedPath("-o", output)])
            let values = try corpusFieldValues(files, field: field, onError: policy)
            var text = "# entities from the \"\(field)\" field of \(files.count) file(s): name, then tab-separated aliases\n"
            for v in values { text += v.name + "\n" }
            try writeTextFile(output, text)
            printError("tailscope: \(values.count) entities from \(values.reduce(0) { $0 + $1.docs }) documents\n")
        } catch {
            throw fail(error)
        }
    }
}
