import Foundation
import Support

/// Which tailscope pass a Slurm run shards, and what its final step writes.
public enum SlurmPass: Sendable, Equatable {
    /// `index` shards merged into `output` (`tailscope merge ... -o`).
    case index(output: String)
    /// `cooccur` shards summed into `index` (`tailscope merge ... --into`).
    case cooccur(index: String)
    /// `prune` in phases: plan (array), resolve, apply (array, parts in `outputDir`), finish.
    case prune(outputDir: String, suffix: String, manifest: String?)

    public var name: String {
        switch self {
        case .index: return "index"
        case .cooccur: return "cooccur"
        case .prune: return "prune"
        }
    }
}

/// What each job asks of the scheduler.
public struct SlurmResources: Sendable, Equatable {
    public var partition: String? = nil
    public var time: String? = nil
    public var mem: String? = nil
    public var cpus = 2
    /// More `#SBATCH` lines, as given (`--account=x`).
    public var extra: [String] = []
    public init() {}
}

/// A sharded run: the pass, the shards, the arguments its tailscope commands share, where its
/// files live.
public struct SlurmRun: Sendable, Equatable {
    public var pass: SlurmPass
    public var shards: Int
    public var by: String = "file"
    /// The pass's own arguments (inputs and flags), given to every step.
    public var arguments: [String]
    public var workdir: String
    public var resources = SlurmResources()
    /// The tailscope binary the jobs run.
    public var binary: String
    /// `index`: how many indexes one merge job merges. With more shards the merge is a tree: level
    /// 1 merges groups of this many shards in parallel jobs, level 2 their outputs, until one.
    public var mergeFanin = 8
    /// The directory the jobs run in (relative paths in `arguments` are relative to it).
    public var directory = FileManager.default.currentDirectoryPath

    public init(pass: SlurmPass, shards: Int, arguments: [String], workdir: String, binary: String) {
        self.pass = pass; self.shards = shards; self.arguments = arguments; self.workdir = workdir; self.binary = binary
    }
}

/// One sbatch submission: a script, an array of `shards` tasks or a single task, run after
/// `after` (indexes of earlier steps) succeeded.
public struct SlurmStep: Sendable, Equatable {
    public var name: String
    public var array: Bool
    /// Array tasks (1 for a single job).
    public var tasks: Int
    /// Per task, arguments appended to `command` (empty: the same command for every task).
    public var perTask: [[String]] = []
    public var after: [Int]
    /// The tailscope command line, with `$K` for the task's shard number.
    public var command: [String]
    public var script: String
    public var log: String
}

public struct SlurmError: Error, CustomStringConvertible, ExitCoded {
    public let description: String
    public let exitStatus: ExitStatus
    public init(_ d: String, status: ExitStatus = .usage) { description = d; exitStatus = status }
}

/// Quotes a word for a POSIX shell (`$K` is left for the shell to expand).
func shellWord(_ s: String) -> String {
    if s == "$K" { return "\"$K\"" }
    if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) { return s }
    if s.contains("$K") {
        return s.components(separatedBy: "$K").map { $0.isEmpty ? "" : shellWord($0) }.joined(separator: "\"$K\"")
    }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

extension SlurmRun {
    var scriptsDir: String { workdir + "/scripts" }
    var logsDir: String { workdir + "/logs" }
    var markersDir: String { workdir + "/done" }
    var shardsDir: String { workdir + "/shards" }
    var phasesDir: String { workdir + "/phases" }

    /// The marker a task leaves when its command succeeded (`done/STEP-K` or `done/STEP`).
    func marker(_ step: String, _ k: Int?) -> String { markersDir + "/" + step + (k.map { "-\($0)" } ?? "") }

    /// The steps of the run, in submission order.
    public var steps: [SlurmStep] {
        let n = shards
        let shard = ["--shard", "$K/\(n)", "--shard-by", by]
        func step(_ name: String, array: Bool, after: [Int], _ command: [String], tasks: Int? = nil) -> SlurmStep {
            SlurmStep(name: name, array: array, tasks: array ? (tasks ?? n) : 1, after: after, command: [binary] + command,
                      script: "\(scriptsDir)/\(name).sbatch", log: "\(logsDir)/\(name)\(array ? "-%a" : "").log")
        }
        switch pass {
        case .index(let output):
            var files = (1...n).map { "\(shardsDir)/index-\($0)-of-\(n).sqlite" }
            let jobs = arguments.contains("--jobs") ? [] : ["--jobs", "\(resources.cpus)"]
            var steps = [step("shards", array: true, after: [], ["index"] + arguments + shard + jobs
                              + ["-o", "\(shardsDir)/index-$K-of-\(n).sqlite", "--no-progress"])]
            // A merge tree: each level merges groups of `mergeFanin` indexes in parallel jobs.
            let fanin = max(2, mergeFanin)
            var level = 1
            while files.count > fanin {
                let groups = stride(from: 0, to: files.count, by: fanin).map { Array(files[$0..<min($0 + fanin, files.count)]) }
                let outs = (1...groups.count).map { "\(shardsDir)/merge\(level)-\($0)-of-\(groups.count).sqlite" }
                var st = step("merge\(level)", array: true, after: [steps.count - 1], ["merge", "--jobs", "\(resources.cpus)"], tasks: groups.count)
                st.perTask = zip(groups, outs).map { $0 + ["-o", $1] }
                steps.append(st)
                files = outs
                level += 1
            }
            steps.append(step("merge", array: false, after: [steps.count - 1], ["merge", "--jobs", "\(resources.cpus)"] + files + ["-o", output]))
            return steps
        case .cooccur(let index):
            let parts = (1...n).map { "\(shardsDir)/cooccur-\($0)-of-\(n).sqlite" }
            return [
                step("shards", array: true, after: [], ["cooccur", "--index", index] + arguments + shard
                     + ["-o", "\(shardsDir)/cooccur-$K-of-\(n).sqlite"]),
                step("merge", array: false, after: [0], ["merge"] + parts + ["--into", index]),
            ]
        case .prune(let dir, let suffix, let manifest):
            return [
                step("plan", array: true, after: [], ["prune"] + arguments + shard + ["--plan", phasesDir, "--no-progress"]),
                step("resolve", array: false, after: [0], ["prune"] + arguments + ["--resolve", phasesDir, "--no-progress"]),
                step("apply", array: true, after: [1], ["prune"] + arguments + shard
                     + ["--apply", phasesDir, "-o", "\(dir)/part-$K-of-\(n)\(suffix)", "--no-progress"]),
                step("finish", array: false, after: [2], ["prune"] + arguments + ["--finish", phasesDir]
                     + (manifest.map { ["--manifest", $0] } ?? []) + ["--no-progress"]),
            ]
        }
    }

    /// The sbatch script of a step: resources, the log, a skip when the step's marker exists (a
    /// rerun of the same run), the command, then the marker.
    func scriptText(_ s: SlurmStep) -> String {
        var lines = ["#!/bin/bash", "#SBATCH --job-name=tailscope-\(pass.name)-\(s.name)", "#SBATCH --output=\(s.log)",
                     "#SBATCH --cpus-per-task=\(resources.cpus)", "#SBATCH --chdir=\(directory)"]
        if s.array { lines.append("#SBATCH --array=1-\(s.tasks)") }
        if let p = resources.partition { lines.append("#SBATCH --partition=\(p)") }
        if let t = resources.time { lines.append("#SBATCH --time=\(t)") }
        if let m = resources.mem { lines.append("#SBATCH --mem=\(m)") }
        for e in resources.extra { lines.append("#SBATCH \(e)") }
        let marker = s.array ? "\(markersDir)/\(s.name)-$K" : "\(markersDir)/\(s.name)"
        lines += [
            "# Written by `tailscope slurm \(pass.name)`; submit with sbatch (the run's steps depend on each other:",
            "# see \(workdir)/run.json), or rerun `tailscope slurm \(pass.name)` with the same arguments.",
            "set -euo pipefail",
            s.array ? "K=${SLURM_ARRAY_TASK_ID:?run this script as an array job}" : "K=0",
            "if [ -e \(shellWord(marker)) ]; then echo \"\(s.name)\(s.array ? " shard $K" : ""): already done\"; exit 0; fi",
        ]
        if s.perTask.isEmpty {
            lines.append(s.command.map(shellWord).joined(separator: " "))
        } else {
            lines.append("case \"$K\" in")
            for (k, args) in s.perTask.enumerated() {
                lines.append("  \(k + 1)) ARGS=(\(args.map(shellWord).joined(separator: " "))) ;;")
            }
            lines.append("  *) echo \"no task $K in this step\" >&2; exit 1 ;;")
            lines.append("esac")
            // An intermediate output without its marker is from a task killed after writing it.
            lines.append("rm -f \"${ARGS[-1]}\"")
            lines.append(s.command.map(shellWord).joined(separator: " ") + " \"${ARGS[@]}\"")
        }
        lines.append("touch \(shellWord(marker))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The run as `run.json` records it (what a rerun must match).
    var identity: JSON {
        .object([("pass", .string(pass.name)), ("shards", .int(Int64(shards))), ("by", .string(by)),
                 ("arguments", .array(arguments.map { .string($0) })), ("merge_fanin", .int(Int64(mergeFanin))),
                 ("final", .string({
                     switch pass {
                     case .index(let o): return o
                     case .cooccur(let i): return i
                     case .prune(let d, let s, let m): return d + "|" + s + "|" + (m ?? "")
                     }
                 }()))])
    }
}

/// What `tailscope slurm PASS` did.
public struct SlurmSubmission: Sendable {
    public var workdir: String
    public var scripts: [String] = []
    /// sbatch job ids in step order (empty with --dry-run).
    public var jobIds: [String] = []
    /// The sbatch command lines (what --dry-run would run).
    public var commands: [[String]] = []
    /// Steps already complete in this work directory (skipped).
    public var complete: [String] = []
}

/// Writes the run's scripts into its work directory and, unless `dryRun`, submits them with
/// sbatch: the array steps and the single steps, each depending on the one before
/// (`afterok`, with `--kill-on-invalid-dep=yes` so a failed shard cancels what follows).
/// A work directory holds one run: other arguments are refused.
public func submitSlurm(_ run: SlurmRun, dryRun: Bool, log: (String) -> Void) throws -> SlurmSubmission {
    guard run.shards >= 1 else { throw SlurmError("--shards must be at least 1") }
    guard run.shards <= 1000 else { throw SlurmError("--shards must be at most 1000 (Slurm's default MaxArraySize is 1001)") }
    let fm = FileManager.default
    for d in [run.workdir, run.scriptsDir, run.logsDir, run.markersDir, run.shardsDir] {
        try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
    }
    if case .prune(let dir, _, _) = run.pass { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    // The record of an earlier submission in this work directory: it must be this run.
    let runFile = run.workdir + "/run.json"
    let identity = run.identity.render()
    let old = fm.contents(atPath: runFile).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    if let old, old["identity"] as? String != identity {
        let pass = (old["run"] as? [String: Any])?["pass"] as? String ?? "different"
        throw SlurmError("\(run.workdir) holds a \(pass) run with other arguments; use another --workdir (or remove it)")
    }
    var out = SlurmSubmission(workdir: run.workdir)
    let steps = run.steps
    for s in steps {
        try run.scriptText(s).write(toFile: s.script, atomically: true, encoding: .utf8)
        out.scripts.append(s.script)
    }
    // Steps whose every task left its marker are done; they are not submitted again.
    func complete(_ s: SlurmStep) -> Bool {
        s.array ? (1...s.tasks).allSatisfy { fm.fileExists(atPath: run.marker(s.name, $0)) } : fm.fileExists(atPath: run.marker(s.name, nil))
    }
    // Job ids of an earlier submission, kept for steps that are complete.
    var earlier: [String: String] = [:]
    for j in old?["jobs"] as? [[String: Any]] ?? [] {
        if let n = j["step"] as? String, let id = j["job"] as? String { earlier[n] = id }
    }
    var ids = [String?](repeating: nil, count: steps.count)
    var record = [String?](repeating: nil, count: steps.count)
    for (i, s) in steps.enumerated() {
        if complete(s) { out.complete.append(s.name); record[i] = earlier[s.name]; continue }
        var cmd = ["sbatch", "--parsable", "--kill-on-invalid-dep=yes"]
        let deps = s.after.compactMap { ids[$0] }
        if !deps.isEmpty { cmd.append("--dependency=afterok:" + deps.joined(separator: ":")) }
        cmd.append(s.script)
        out.commands.append(cmd)
        if dryRun { ids[i] = "<\(s.name)>"; continue }
        let (rc, stdout, stderr) = runProcess(cmd)
        guard rc == 0, let id = stdout.split(separator: "\n").first.map({ String($0.split(separator: ";")[0]) }), !id.isEmpty else {
            throw SlurmError("sbatch refused \(s.script): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))", status: .ioError)
        }
        ids[i] = id
        record[i] = id
        out.jobIds.append(id)
        log("submitted \(s.name)\(s.array ? " (\(s.tasks) tasks)" : ""): job \(id)")
    }
    // With --dry-run the scripts are written and the record (if there is none yet) says nothing
    // was submitted.
    if !dryRun || old == nil {
        let jobs: [JSON] = steps.enumerated().map { i, s in
            .object([("step", .string(s.name)), ("array", .bool(s.array)), ("tasks", .int(Int64(s.tasks))), ("script", .string(s.script)),
                     ("log", .string(s.log)), ("job", record[i].map { .string($0) } ?? .null)])
        }
        let text = JSON.object([("run", run.identity), ("identity", .string(identity)),
                                ("submitted_at", dryRun ? .null : .string(isoNow())), ("jobs", .array(jobs))])
        try (text.render() + "\n").write(toFile: runFile, atomically: true, encoding: .utf8)
    }
    return out
}

/// Runs a program and returns its exit status and output (standard input closed).
func runProcess(_ argv: [String]) -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let o = Pipe(), e = Pipe()
    p.standardOutput = o; p.standardError = e
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { return (127, "", "\(error)") }
    let out = o.fileHandleForReading.readDataToEndOfFile()
    let err = e.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Where one task of a run stands.
public enum SlurmTaskState: String, Sendable {
    case done, running, pending, failed, cancelled
    /// Never submitted (a --dry-run), or ended and forgotten by Slurm without leaving its marker.
    case unknown
}

/// One step of a run as `tailscope slurm status` sees it.
public struct SlurmStepStatus: Sendable {
    public var step: String
    public var job: String?
    /// Per task (one for a single step): its state, and for one that failed its log and last line.
    public var tasks: [(shard: Int?, state: SlurmTaskState, log: String, lastLine: String)]
    public func count(_ s: SlurmTaskState) -> Int { tasks.filter { $0.state == s }.count }
}

public struct SlurmStatus: Sendable {
    public var workdir: String
    public var pass: String
    public var shards: Int
    public var steps: [SlurmStepStatus]
    public var complete: Bool { steps.allSatisfy { $0.count(.done) == $0.tasks.count } }
    /// No step was submitted (the run was written with --dry-run).
    public var submitted: Bool { steps.contains { $0.job != nil } }
    /// Nothing is running or pending, and something did not finish.
    public var stopped: Bool {
        !complete && steps.allSatisfy { $0.count(.running) == 0 && $0.count(.pending) == 0 }
    }
}

/// The state of a run from its markers (a task that succeeded leaves one), and for the rest from
/// the scheduler (`squeue`, then `scontrol show job` for tasks that ended).
public func slurmStatus(workdir: String) throws -> SlurmStatus {
    let runFile = workdir + "/run.json"
    guard let data = FileManager.default.contents(atPath: runFile),
          let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let run = record["run"] as? [String: Any], let jobs = record["jobs"] as? [[String: Any]] else {
        throw SlurmError("\(workdir) holds no run (no readable run.json); start one with tailscope slurm index|cooccur|prune", status: .noInput)
    }
    let shards = (run["shards"] as? Int) ?? 1
    var out = SlurmStatus(workdir: workdir, pass: run["pass"] as? String ?? "?", shards: shards, steps: [])
    for j in jobs {
        let name = j["step"] as? String ?? "?"
        let array = j["array"] as? Bool ?? false
        let taskCount = (j["tasks"] as? Int) ?? (array ? shards : 1)
        let job = j["job"] as? String
        let logPattern = j["log"] as? String ?? ""
        // Live tasks, then ended ones the controller still remembers.
        var live: [Int: SlurmTaskState] = [:], ended: [Int: SlurmTaskState] = [:]
        if let job {
            let (rc, text, _) = runProcess(["squeue", "-h", "-r", "-j", job, "-o", "%i %t"])
            if rc == 0 {
                for line in text.split(separator: "\n") {
                    let f = line.split(separator: " ")
                    guard f.count == 2 else { continue }
                    let k = f[0].split(separator: "_").dropFirst().first.flatMap { Int($0) } ?? 0
                    live[k] = f[1] == "PD" ? .pending : .running
                }
            }
            let (rc2, shown, _) = runProcess(["scontrol", "-o", "show", "job", job])
            if rc2 == 0 {
                for line in shown.split(separator: "\n") {
                    var fields: [String: String] = [:]
                    for kv in line.split(separator: " ") {
                        let p = kv.split(separator: "=", maxSplits: 1)
                        if p.count == 2 { fields[String(p[0])] = String(p[1]) }
                    }
                    let k = Int(fields["ArrayTaskId"] ?? "") ?? 0
                    switch fields["JobState"] ?? "" {
                    case "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE": ended[k] = .failed
                    case "CANCELLED": ended[k] = .cancelled
                    case "PENDING": live[k] = live[k] ?? .pending
                    case "RUNNING", "COMPLETING", "CONFIGURING": live[k] = live[k] ?? .running
                    default: break
                    }
                }
            }
        }
        var tasks: [(shard: Int?, state: SlurmTaskState, log: String, lastLine: String)] = []
        for k in array ? Array(1...max(1, taskCount)) : [0] {
            let marker = workdir + "/done/" + name + (array ? "-\(k)" : "")
            let log = logPattern.replacingOccurrences(of: "%a", with: "\(k)")
            var state: SlurmTaskState
            if FileManager.default.fileExists(atPath: marker) { state = .done }
            else if let s = live[k] ?? (array ? nil : live.values.first) { state = s }
            else if let s = ended[k] ?? (array ? nil : ended.values.first) { state = s }
            else if job != nil && FileManager.default.fileExists(atPath: log) { state = .failed }
            else { state = job == nil ? .unknown : (array ? .unknown : .unknown) }
            var last = ""
            if state == .failed, let text = try? String(contentsOfFile: log, encoding: .utf8) {
                last = text.split(separator: "\n").last.map(String.init) ?? ""
            }
            tasks.append((array ? k : nil, state, log, last))
        }
        out.steps.append(SlurmStepStatus(step: name, job: job, tasks: tasks))
    }
    return out
}
