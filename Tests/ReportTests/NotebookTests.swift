import Foundation
import Testing
import Evaluation
import Indexing
import TestSupport

/// Runs the notebooks in `notebooks/` headless (nbclient) against a small index and `correlate`
/// outputs built here; a cell that raises fails the test. The Python environment comes from
/// `make notebook-env` (.build/nbenv) or TAILSCOPE_NOTEBOOK_PYTHON.
@Suite struct NotebookTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func notebooksRunAgainstASmallIndex() throws {
        let python = ProcessInfo.processInfo.environment["TAILSCOPE_NOTEBOOK_PYTHON"] ?? Self.root + "/.build/nbenv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "no Python environment for the notebooks at \(python): run `make notebook-env` (or set TAILSCOPE_NOTEBOOK_PYTHON)")
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        var docs: [String] = []
        for i in 0..<300 { docs.append("the old mill by the river " + (1...40).filter { i % $0 == 0 }.map(String.init).joined(separator: " ")) }
        let index = try buildTestIndex(dir, docs: docs, orders: 2)
        var eval = ""
        for q in 0..<120 {
            let a = 1 + q % 40
            eval += "{\"question\": \"What is \(a) plus 2?\", \"model\": \"\(q % 2 == 0 ? "a" : "b")\", \"correct\": \(q % 3 != 0 || a < 5)}\n"
        }
        TestSupport.write(dir + "/e.jsonl", eval)
        var o = CorrelateOptions(index: index, evals: [dir + "/e.jsonl"])
        o.fields.groupBy = ["model"]
        o.terms = [.numbers]
        o.bootstrap = 50
        let r = try correlate(o) { _ in }
        TestSupport.write(dir + "/c.json", CorrelateRender.json(r).render())
        TestSupport.write(dir + "/c.csv", CorrelateRender.csv(r))
        // Three model sizes on the same questions, with a categorical covariate, for 03_scaling.
        var runs = ""
        for (k, model) in ["t-1b", "t-10b", "t-100b"].enumerated() {
            for q in 0..<120 {
                let a = 1 + q % 40
                let correct = (q * 7 + k * 13) % 10 < 3 + k * 2 + (a % 3 == 0 ? 2 : 0)
                runs += "{\"question\": \"What is \(a) plus \(q)?\", \"model\": \"\(model)\", \"correct\": \(correct), \"kind\": \"\(q % 2 == 0 ? "even" : "odd")\"}\n"
            }
        }
        TestSupport.write(dir + "/runs.jsonl", runs)
        var so = ScalingOptions(features: CorrelateOptions(index: index, evals: [dir + "/runs.jsonl"]))
        so.features.terms = [.numbers]
        so.features.bootstrap = 50
        so.covariates = ["kind"]
        let sr = try scaling(so) { _ in }
        #expect(sr.groups[0].joint.fit != nil)
        TestSupport.write(dir + "/s.json", ScalingRender.json(sr).render())
        TestSupport.write(dir + "/s.csv", ScalingRender.csv(sr))
        let script = """
        import sys, nbformat, nbclient
        for path in sys.argv[1:]:
            nb = nbformat.read(path, as_version=4)
            nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": "\(dir)"}}).execute()
            print("ran", path)
        """
        let notebooks = try FileManager.default.contentsOfDirectory(atPath: Self.root + "/notebooks").filter { $0.hasSuffix(".ipynb") }.sorted()
        #expect(notebooks.count >= 3)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script] + notebooks.map { Self.root + "/notebooks/" + $0 }
        var env = ProcessInfo.processInfo.environment
        env["TAILSCOPE_INDEX"] = index
        env["TAILSCOPE_CORRELATE_JSON"] = dir + "/c.json"
        env["TAILSCOPE_CORRELATE_CSV"] = dir + "/c.csv"
        env["TAILSCOPE_SCALING_JSON"] = dir + "/s.json"
        env["TAILSCOPE_SCALING_CSV"] = dir + "/s.csv"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "a notebook cell failed:\n\(errText.suffix(3000))")
    }
}
