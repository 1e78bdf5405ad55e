#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM; long loops (reading, walking directories, writing) check it and stop
/// cleanly, removing their temporary files.
nonisolated(unsafe) public var interruptFlag: sig_atomic_t = 0

/// Installs handlers so that Ctrl-C or SIGTERM stops a run between documents (or directory
/// entries) and removes its temporary files; the command then exits 130.
public func installInterruptHandlers() {
    signal(SIGINT) { _ in interruptFlag = 1 }
    signal(SIGTERM) { _ in interruptFlag = 1 }
}

/// Thrown when SIGINT/SIGTERM stopped a run. Nothing that looks complete was written.
public struct Interrupted: Error, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "interrupted; nothing was written" }
}

@inline(__always) public func checkInterrupt() throws(Interrupted) {
    if interruptFlag != 0 { throw Interrupted() }
}

/// A command line that cannot work as given (an output that is also an input, two outputs on
/// one file, a directory where a file is needed). Reported before anything is read; exit 64.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// An error while writing an output (disk full, permissions, a vanished directory); exit 74.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let detail: String
    public init(path: String, _ detail: String) { self.path = path; self.detail = detail }
    public var description: String { "cannot write \(path): \(detail)" }
}

/// The text of `errno`.
public func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

/// The documented exit statuses (sysexits.h), shared by every command.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    /// Bad usage: unknown flags, invalid values, an output that would destroy an input.
    case usage = 64
    /// Malformed input data (file and line named).
    case dataError = 65
    /// An input that does not exist or cannot be read.
    case noInput = 66
    /// A disk or I/O error: an output, spill file or index that cannot be written.
    case ioError = 74
    /// Stopped by SIGINT/SIGTERM; nothing that looks complete was written.
    case interrupted = 130
}

/// An error that knows its exit status. Every error type of tailscope's modules conforms, next
/// to its definition; `exitStatus(for:)` is the one place that turns an error into a status.
public protocol ExitCoded: Error {
    var exitStatus: ExitStatus { get }
}

/// The exit status of any error: its own for `ExitCoded` errors, 65 for anything else.
public func exitStatus(for error: Error) -> ExitStatus {
    (error as? ExitCoded)?.exitStatus ?? .dataError
}

extension Interrupted: ExitCoded { public var exitStatus: ExitStatus { .interrupted } }
extension UsageError: ExitCoded { public var exitStatus: ExitStatus { .usage } }
extension OutputError: ExitCoded { public var exitStatus: ExitStatus { .ioError } }
