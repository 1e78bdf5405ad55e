// swift-tools-version:6.0
import PackageDescription

// The hot loops (reading, tokenizing, counting) index into buffers held by class properties.
// Swift checks exclusive access to those at run time on every access; measured with callgrind on
// `index --orders 1`, the checks were 40% of all instructions. These modules keep their buffers
// private and never hand out overlapping inout access, so the run-time check is switched off for
// them (compile-time checks stay on).
let hotLoop: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "tailscope",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tailscope", targets: ["tailscope"]),
        .library(name: "Indexing", targets: ["Indexing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System-library shims: a module map and a one-line header each, nothing else.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // Header only: a prefetch hint for hash-table probes (no library to link).
        .systemLibrary(name: "CPrefetch"),

        // The one shared utility module: interrupts, usage/output errors, exit statuses, file
        // identity, safe output files (atomic for regular files only, `-` is stdout), temp-file
        // leftovers, the JSON writer, number formatting and tables, the progress line.
        .target(name: "Support"),
        // Reading: open any input, detect the container by magic bytes, stream-decompress,
        // split lines, pull the JSON text field, yield documents.
        .target(name: "CorpusIO", dependencies: ["Support", "CZstd", "CZlib"], swiftSettings: hotLoop),
        // Tokenizing bytes into normalized tokens (no String in the hot loop).
        .target(name: "Tokenization", swiftSettings: hotLoop),
        // Exact bounded-memory counting: vocabulary, n-gram tables, sorted spill runs, k-way merge.
        .target(name: "Counting", dependencies: ["Support", "CPrefetch"], swiftSettings: hotLoop),
        // Finding many token sequences in documents: the token-level Aho-Corasick automaton
        // (cooccur, the contamination scan) and the rolling-hash n-gram set (prune's
        // decontamination).
        .target(name: "Matching", dependencies: ["Counting", "Tokenization", "CPrefetch"], swiftSettings: hotLoop),
        // The only module that speaks SQL.
        .target(name: "IndexStore", dependencies: ["Support", "CSQLite", "Counting"]),
        // Statistics: rank correlations, logistic regression (BLAS/LAPACK), bins, bootstrap.
        .target(name: "Statistics", dependencies: ["COpenBLAS"]),
        // The `index`/`merge` pipelines that wire the stages together.
        .target(name: "Indexing", dependencies: ["CorpusIO", "Tokenization", "Counting", "IndexStore", "Statistics"],
                swiftSettings: hotLoop),
        // Plots: SVG line and bar charts (no dependencies).
        .target(name: "Reporting"),
        // Eval results in; per-question frequency features; `correlate` and `cooccur`.
        .target(name: "Evaluation", dependencies: ["CorpusIO", "Tokenization", "Counting", "Matching", "IndexStore", "Indexing", "Statistics", "Reporting", "CPrefetch"],
                swiftSettings: hotLoop),
        // `prune`: dedup, decontamination, near-dup, balancing and --keep over a corpus, with a manifest.
        .target(name: "Curation", dependencies: ["CorpusIO", "Tokenization", "Counting", "Matching", "IndexStore", "Indexing", "Evaluation", "Statistics"],
                swiftSettings: hotLoop),
        // `report`: tail coverage of an eval set as index.html, report.md and report.json.
        .target(name: "Report", dependencies: ["CorpusIO", "Tokenization", "IndexStore", "Indexing", "Statistics", "Evaluation", "Reporting"]),
        // Running passes on a Slurm cluster: sbatch scripts for the shard arrays and their dependent
        // merge (or prune's phases), submission, and the run's status.
        .target(name: "Cluster", dependencies: ["Support"]),
        .executableTarget(
            name: "tailscope",
            dependencies: [
                "Indexing",
                "Statistics",
                "Evaluation",
                "Report",
                "Curation",
                "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Fuzz targets for the parsers of untrusted bytes; `make fuzz` builds them with libFuzzer,
        // a normal build replays inputs (`tailscope-fuzz csv crash-123`).
        .executableTarget(name: "tailscope-fuzz", dependencies: ["CorpusIO", "Evaluation", "Tokenization"]),

        .target(name: "TestSupport", dependencies: ["CorpusIO", "Tokenization", "Indexing"], path: "Tests/TestSupport"),
        .testTarget(name: "CorpusIOTests", dependencies: ["CorpusIO", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "TestSupport"]),
        .testTarget(name: "CountingTests", dependencies: ["Counting", "TestSupport"]),
        .testTarget(name: "IndexStoreTests", dependencies: ["IndexStore", "CorpusIO", "TestSupport"]),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"], exclude: ["reference.json", "make_reference.py", "cluster_reference.json", "make_cluster_reference.py"]),
        .testTarget(name: "IndexingTests", dependencies: ["Indexing", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Matching", "Indexing", "IndexStore", "Statistics", "Tokenization", "Support", "Counting", "TestSupport"],
                    exclude: ["brute_pairs.py", "brute_relevant.py", "check_unit_term.py"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "CorpusIO", "Evaluation", "Indexing", "IndexStore", "Statistics", "Tokenization", "TestSupport"]),
        .testTarget(name: "CurationTests", dependencies: ["Curation", "CorpusIO", "IndexStore", "Indexing", "Tokenization", "Evaluation", "Statistics", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
