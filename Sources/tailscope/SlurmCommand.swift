import ArgumentParser
import Cluster
import CorpusIO
import Foundation

struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Run index, cooccur or prune as Slurm array jobs with a dependent merge, and follow them.",
        discussion: """
        Each pass is split into --shards slices (by file, or by document with --shard-by doc); every \
        shard is one task of an sbatch array, and the merge (for prune: resolve, apply, finish) runs \
        after the array succeeded. The scripts go to WORKDIR/scripts (read, edit or submit them by \
        hand; --dry-run writes them without submitting), logs to WORKDIR/logs, a marker per \
        finished task to WORKDIR/done. Rerunning the same command skips finished steps and tasks. \
        A failed task cancels the steps after it (--kill-on-invalid-dep=yes); `status` names it and \
        its log. Arguments not listed under each subcommand are passed to the pass itself.

        Examples:
          tailscope slurm index corpus/ --shards 64 --orders 1-2 -o indexes/pile.sqlite --workdir runs/pile \\
              --partition cpu --time 4:00:00 --mem 16G --cpus 8
          tailscope slurm cooccur --index indexes/pile.sqlite --eval qa.jsonl --corpus corpus/ --shards 64 --workdir runs/qa
          tailscope slurm prune corpus/ --shards 64 --dedup exact --near-dup 0.8 -o curated/ --workdir runs/prune
          tailscope slurm status runs/pile --wait

        Exit status: 0 submitted (with --wait: finished); 1 the run stopped before the end (with \
        --wait, or from status); 64 usage (a work directory that holds another run, bad flags); \
        66 no run in the work directory (status); 74 sbatch refused a script.
        """,
        subcommands: [SlurmIndexCommand.self, SlurmCooccurCommand.self, SlurmPruneCommand.self, SlurmStatusCommand.self]
    )
}

struct SlurmOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Number of shards (array tasks), 1-1000.", valueName: "N"))
    var shards: Int

    @Option(help: ArgumentHelp("How the shards slice the corpus: by file (round robin over sorted paths) or by document.", valueName: "file|doc"))
    var shardBy: ShardSpec.By = .file

    @Option(help: ArgumentHelp("Directory for the scripts, logs, markers and shard files (default: runs/PASS).", valueName: "dir"))
    var workdir: String?

    @Option(help: ArgumentHelp("sbatch --partition.", valueName: "name"))
    var partition: String?

    @Option(help: ArgumentHelp("sbatch --time of each job.", valueName: "limit"))
    var time: String?

    @Option(help: ArgumentHelp("sbatch --mem of each job.", valueName: "size"))
    var mem: String?

    @Option(help: ArgumentHelp("sbatch --cpus-per-task (and index --jobs).", valueName: "n"))
    var cpus: Int = 2

    @Option(name: .customLong("sbatch"), help: ArgumentHelp("Another #SBATCH line for every job (repeatable), e.g. --sbatch=--account=lab.", valueName: "arg"))
    var sbatchArgs: [String] = []

    @Flag(help: "Write the scripts and print the sbatch commands without submitting.")
    var dryRun = false

    @Flag(help: "Wait until the run finishes or fails, then print its status (exit 1 when it failed).")
    var wait = false

    func run(_ pass: SlurmPass, _ arguments: [String], mergeFanin: Int = 8) throws {
        guard (1...1000).contains(shards) else { throw ValidationError("--shards must be in 1...1000") }
        guard cpus >= 1 else { throw ValidationError("--cpus must be at least 1") }
        let dir = absolutePath(workdir ?? "runs/\(pass.name)")
        var r = SlurmRun(pass: pass, shards: shards, arguments: arguments, workdir: dir, binary: currentExecutable())
        r.by = shardBy.rawValue
        r.mergeFanin = mergeFanin
        r.resources.partition = partition
        r.resources.time = time
        r.resources.mem = mem
        r.resources.cpus = cpus
        r.resources.extra = sbatchArgs
        do {
            let s = try submitSlurm(r, dryRun: dryRun) { printError("tailscope: \($0)\n") }
            for c in s.complete { printError("tailscope: \(c): already done in \(dir), not submitted\n") }
            if dryRun {
                printError("tailscope: wrote \(s.scripts.count) scripts to \(dir)/scripts; would run:\n")
                for c in s.commands { printOut(c.joined(separator: " ")) }
                return
            }
            printOut(s.jobIds.joined(separator: " "))
            if wait { try waitAndShow(dir) }
        } catch {
            throw fail(error)
        }
    }
}

/// Polls the run until it is complete or stopped, then prints its status.
func waitAndShow(_ dir: String) throws {
    var st = try slurmStatus(workdir: dir)
    while !st.complete && !st.stopped {
        Thread.sleep(forTimeInterval: 1)
        st = try slurmStatus(workdir: dir)
    }
    printError(renderSlurmStatus(st))
    if !st.complete { throw ExitCode(1) }
}

func renderSlurmStatus(_ s: SlurmStatus) -> String {
    let state = s.complete ? "complete" : !s.submitted ? "not submitted (written with --dry-run; submit the scripts or rerun without it)"
        : s.stopped ? "stopped before the end" : "running"
    var out = "\(s.pass) in \(s.workdir): \(state), \(s.shards) shard(s)\n"
    out += "step        job        done  running  pending  failed  cancelled\n"
    for st in s.steps {
        func col(_ x: String, _ n: Int) -> String { x.count >= n ? x + " " : x + String(repeating: " ", count: n - x.count) }
        out += col(st.step, 12) + col(st.job ?? "-", 10) + col("\(st.count(.done))/\(st.tasks.count)", 6) + col("\(st.count(.running))", 9)
            + col("\(st.count(.pending))", 9) + col("\(st.count(.failed))", 8) + "\(st.count(.cancelled))\n"
        for t in st.tasks where t.state == .failed {
            out += "  \(st.step)\(t.shard.map { " shard \($0)" } ?? ""): failed; log \(t.log)\(t.lastLine.isEmpty ? "" : ": " + t.lastLine)\n"
        }
        if st.count(.cancelled) > 0 { out += "  \(st.step): \(st.count(.cancelled)) task(s) cancelled (a step before failed, or scancel)\n" }
    }
    return out
}

private func absolutePath(_ p: String) -> String {
    p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
}

private func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? absolutePath(CommandLine.arguments[0])
}

struct SlurmIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "index --shard K/N as an array job, then merge the shards into -o.")

    @OptionGroup var slurm: SlurmOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The merged index.", valueName: "index.sqlite"))
    var output: String

    @Option(help: ArgumentHelp("Indexes one merge job merges; with more shards the merge is a tree of parallel jobs, level by level.", valueName: "F"))
    var mergeFanin: Int = 8

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Corpus files and `index` flags (--orders, --min-count, --memory, ...).", valueName: "index-arguments"))
    var arguments: [String] = []

    func run() throws {
        guard mergeFanin >= 2 else { throw ValidationError("--merge-fanin must be at least 2") }
        try slurm.run(.index(output: output), arguments, mergeFanin: mergeFanin)
    }
}

struct SlurmCooccurCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cooccur",
        abstract: "cooccur --shard K/N as an array job, then sum the shards into the index (merge --into).")

    @OptionGroup var slurm: SlurmOptions

    @Option(help: ArgumentHelp("The index the counts go into.", valueName: "index.sqlite"))
    var index: String

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("`cooccur` flags (--eval, --corpus, --window, ...).", valueName: "cooccur-arguments"))
    var arguments: [String] = []

    func run() throws { try slurm.run(.cooccur(index: index), arguments) }
}

struct SlurmPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "prune in phases: plan (array), resolve, apply (array; one part per shard in -o DIR), finish.")

    @OptionGroup var slurm: SlurmOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Directory of the curated parts (part-K-of-N plus --suffix).", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("Name ending of the parts: format and compression.", valueName: "suffix"))
    var suffix: String = ".jsonl.zst"

    @Option(help: ArgumentHelp("Where finish writes the complete manifest (default WORKDIR/phases/manifest.sqlite).", valueName: "file"))
    var manifest: String?

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Corpus files and `prune` step flags.", valueName: "prune-arguments"))
    var arguments: [String] = []

    func run() throws { try slurm.run(.prune(outputDir: output, suffix: suffix, manifest: manifest), arguments) }
}

struct SlurmStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a run's progress from its markers and the scheduler; name failed tasks and their logs.")

    @Argument(help: ArgumentHelp("The run's work directory.", valueName: "workdir"))
    var workdir: String

    @Flag(help: "Wait until the run finishes or fails (exit 1 when it failed).")
    var wait = false

    @Flag(help: "Print the status as JSON on stdout.")
    var json = false

    func run() throws {
        do {
            if wait { try waitAndShow(workdir); return }
            let s = try slurmStatus(workdir: workdir)
            if json {
                printOut(JSON.object([("workdir", .string(s.workdir)), ("pass", .string(s.pass)), ("shards", .int(Int64(s.shards))),
                                      ("complete", .bool(s.complete)), ("stopped", .bool(s.stopped)),
                                      ("steps", .array(s.steps.map { st in
                                          .object([("step", .string(st.step)), ("job", st.job.map { .string($0) } ?? .null),
                                                   ("tasks", .array(st.tasks.map { t in
                                                       .object([("shard", t.shard.map { .int(Int64($0)) } ?? .null), ("state", .string(t.state.rawValue)),
                                                                ("log", .string(t.log)), ("last_line", .string(t.lastLine))])
                                                   }))])
                                      }))]).render())
            } else {
                printError(renderSlurmStatus(s))
            }
            if s.stopped && s.submitted { throw ExitCode(1) }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(error)
        }
    }
}
