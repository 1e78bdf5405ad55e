// swift-tools-version:6.0
import PackageDescription

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

        // Reading: open any input, detect the container by magic bytes, stream-decompress,
        // split lines, pull the JSON text field, yield documents.
        .target(name: "CorpusIO", dependencies: ["CZstd", "CZlib"]),
        // Tokenizing bytes into normalized tokens (no String in the hot loop).
        .target(name: "Tokenization"),
        // Exact bounded-memory counting: vocabulary, n-gram tables, sorted spill runs, k-way merge.
        .target(name: "Counting"),
        // The only module that speaks SQL.
        .target(name: "IndexStore", dependencies: ["CSQLite", "Counting"]),
        // The `index`/`merge` pipelines that wire the stages together.
        .target(name: "Indexing", dependencies: ["CorpusIO", "Tokenization", "Counting", "IndexStore"]),
        .executableTarget(
            name: "tailscope",
            dependencies: [
                "Indexing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "TestSupport", dependencies: ["CorpusIO", "Tokenization"], path: "Tests/TestSupport"),
        .testTarget(name: "CorpusIOTests", dependencies: ["CorpusIO", "TestSupport"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "TestSupport"]),
        .testTarget(name: "CountingTests", dependencies: ["Counting", "TestSupport"]),
        .testTarget(name: "IndexStoreTests", dependencies: ["IndexStore", "CorpusIO", "TestSupport"]),
        .testTarget(name: "IndexingTests", dependencies: ["Indexing", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
