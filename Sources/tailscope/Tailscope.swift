import ArgumentParser
import Indexing
import Statistics

@main
struct Tailscope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailscope",
        abstract: "Long-tail frequency analysis of language-model training data.",
        discussion: """
        Build an exact n-gram index of a compressed corpus once, then query it:

          tailscope index corpus/*.jsonl.zst --orders 1-3 --memory 1GiB -o indexes/wiki.sqlite
          tailscope stats indexes/wiki.sqlite
          tailscope count indexes/wiki.sqlite "24" "the united states"
          tailscope top indexes/wiki.sqlite --order 2 --limit 20

        Then relate model results to it:

          tailscope correlate --index indexes/wiki.sqlite --eval results.jsonl --terms numbers --group-by model
          tailscope cooccur --index indexes/wiki.sqlite --eval qa.jsonl --corpus corpus/*.jsonl.zst --window 5
          tailscope report --index indexes/wiki.sqlite --eval qa.jsonl -o reports/qa/
          tailscope scaling --index indexes/wiki.sqlite --eval runs/*.jsonl --model-field model --terms numbers
          tailscope entities corpus/*.jsonl.zst --field title -o titles.tsv     # a gazetteer for --entities

        And curate it:

          tailscope prune corpus/*.jsonl.zst -o curated.jsonl.zst --dedup exact --near-dup 0.8 \\
              --decontaminate eval.jsonl --manifest curated.manifest.sqlite

        The index is a documented SQLite file (see indexes/README.md). No command writes over one of
        its inputs (outputs are compared with inputs by resolved path and inode); `-` is standard
        output; `tailscope clean` removes what killed runs left behind.
        Exit codes: 0 ok, 64 bad usage (including an output that is an input), 65 bad input data,
        66 input not found or unreadable, 74 disk or I/O error (index, spill files, outputs),
        130 interrupted.
        """,
        version: tailscopeVersion,
        subcommands: [IndexCommand.self, StatsCommand.self, CountCommand.self, TopCommand.self, MergeCommand.self,
                      CorrelateCommand.self, ScalingCommand.self, CooccurCommand.self, EntitiesCommand.self, ReportCommand.self, PruneCommand.self, SlurmCommand.self, CleanCommand.self]
    )

    static func main() {
        // OpenBLAS's idle worker threads spin for ~0.1 s after load; see BLASThreads.stopIdle.
        BLASThreads.stopIdle()
        main(nil)
    }
}
