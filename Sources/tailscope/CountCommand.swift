import ArgumentParser
import Indexing

struct CountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Occurrences and document frequency of words and phrases.",
        discussion: """
        Each query is tokenized with the index's own settings, so "The United-States" asks for the \
        3-gram "the united states" in a case-folded index. Phrases longer than the index's highest \
        order are reported, not silently dropped.

          tailscope count indexes/wiki.sqlite 24 "twenty four" "the united states" --json
        """
    )

    @Argument(help: "The index.")
    var index: String

    @Argument(help: "Words or phrases.")
    var queries: [String]

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        do {
            let rows = try countTerms(path: index, queries: queries)
            printOut(json ? Render.countsJSON(rows).render() : Render.countsText(rows))
        } catch {
            throw fail(error)
        }
    }
}
