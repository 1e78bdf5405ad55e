import ArgumentParser
import Indexing

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Documents, tokens, types per order, hapax share, Zipf slope and skipped input of an index."
    )

    @Argument(help: "The index.")
    var index: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        do {
            let s = try indexStatistics(path: index)
            printOut(json ? Render.statsJSON(s).render() : Render.statsText(s))
        } catch {
            throw fail(error)
        }
    }
}
