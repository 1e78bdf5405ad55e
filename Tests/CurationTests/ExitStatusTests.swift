import Testing
import CorpusIO
import Counting
import Curation
import Evaluation
import Indexing
import IndexStore

/// Every error type maps to its documented exit status in one place (`exitStatus(for:)`).
@Suite struct ExitStatusTests {
    @Test func everyErrorTypeHasItsDocumentedStatus() {
        let cases: [(Error, Int32)] = [
            (UsageError("x"), 64),
            (PruneUsageError("x"), 64),
            (InputError(.invalidJSON, path: "f", "x"), 65),
            (InputError(.corrupt, path: "f", "x"), 65),
            (InputError(.truncated, path: "f", "x"), 65),
            (InputError(.unreadable, path: "f", "x"), 66),
            (EvalError(.invalidCSV, path: "f", "x"), 65),
            (EvalError(.unreadable, path: "f", "x"), 66),
            (CSVError(line: 1, message: "x"), 65),
            (CorrelateError("x"), 65),
            (IndexingError("x"), 65),
            (OutputError(path: "f", "No space left on device"), 74),
            (SpillError(description: "No space left on device"), 74),
            (StoreError("disk I/O error"), 74),
            (Interrupted(), 130),
        ]
        for (e, code) in cases { #expect(exitStatus(for: e).rawValue == code, "\(type(of: e))") }
        struct Unknown: Error {}
        #expect(exitStatus(for: Unknown()) == .dataError)
    }
}
