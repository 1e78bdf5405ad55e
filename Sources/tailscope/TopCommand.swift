import ArgumentParser
import Indexing

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "The most (or least) frequent n-grams of one order.",
        discussion: """
        Ties are broken by token ids (first appearance in the corpus). The 10,000 most frequent \
        n-grams of each order are stored in the index; longer lists scan the table.

          tailscope top indexes/wiki.sqlite --order 2 --limit 20
          tailscope top indexes/wiki.sqlite --order 3 --bottom --json
        """
    )

    @Argument(help: "The index.")
    var index: String

    @Option(help: "N-gram order.")
    var order: Int = 1

    @Option(help: "How many rows.")
    var limit: Int = 20

    @Flag(help: "The least frequent stored n-grams instead.")
    var bottom = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if order < 1 || order > 5 { throw ValidationError("--order must be 1...5") }
    }

    func run() throws {
        do {
            let rows = try topNGrams(path: index, order: order, limit: limit, bottom: bottom)
            printOut(json ? Render.topJSON(rows, order: order, bottom: bottom).render() : Render.topText(rows))
        } catch {
            throw fail(error)
        }
    }
}
