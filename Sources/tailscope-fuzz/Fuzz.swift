// Fuzz targets for the parsers that read untrusted bytes: the JSON field scanner, the tokenizer,
// the CSV reader, and the zstd/gzip readers. Built two ways:
//   make fuzz            libFuzzer (`-sanitize=fuzzer -DFUZZING`), each target for FUZZ_SECONDS
//   tailscope-fuzz T F…  (a normal build) replays files through target T, e.g. a crash input
// The target is chosen by the TAILSCOPE_FUZZ_TARGET environment variable under libFuzzer.
import CorpusIO
import Evaluation
import Tokenization

#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget: String, CaseIterable {
    case json, tokenizer, csv, zstd, gzip

    func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .json:
            for field in ["text", "meta.body"] {
                var x = JSONFieldExtractor(fieldPath: field)
                _ = try? x.extract(data)
            }
        case .tokenizer:
            for fold in [true, false] {
                let t = Tokenizer(config: TokenizerConfig(caseFold: fold))
                let out = TokenBuffer()
                t.tokenize(data, into: out)
            }
        case .csv:
            _ = try? parseCSV(data)
        case .zstd, .gzip:
            // The decoders read files: write the input to one and read it to the end.
            let path = "/tmp/tailscope-fuzz-\(getpid()).\(rawValue)"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            if let b = data.baseAddress, data.count > 0 { _ = write(fd, b, data.count) }
            close(fd)
            defer { unlink(path) }
            guard let f = try? FileSource(path: path) else { return }
            let src: ByteSource? = self == .zstd ? try? ZstdSource(file: f) : try? GzipSource(file: f)
            guard let src else { return }
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { buf.deallocate() }
            while let n = try? src.read(into: buf), n > 0 {}
        }
    }
}

#if FUZZING
nonisolated(unsafe) let selected: FuzzTarget = {
    guard let e = getenv("TAILSCOPE_FUZZ_TARGET"), let t = FuzzTarget(rawValue: String(cString: e)) else {
        fatalError("set TAILSCOPE_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))")
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main struct Replay {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 3, let t = FuzzTarget(rawValue: args[1]) else {
            print("usage: tailscope-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
            exit(64)
        }
        for p in args.dropFirst(2) {
            guard let f = fopen(p, "rb") else { print("cannot read \(p)"); exit(66) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = fread(&chunk, 1, chunk.count, f)
                if n <= 0 { break }
                bytes += chunk[0..<n]
            }
            fclose(f)
            bytes.withUnsafeBytes { t.run($0) }
            print("\(p): ok")
        }
    }
}
#endif
