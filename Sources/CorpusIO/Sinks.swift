import CZlib
import CZstd
@_exported import Support

#if canImport(Glibc)
import Glibc
#endif

/// How an output file is compressed, chosen from its name: `.zst`/`.zstd` zstd, `.gz` gzip,
/// anything else uncompressed.
public enum OutputCompression: String, Sendable {
    case zstd, gzip, none

    public static func forName(_ path: String) -> OutputCompression {
        if path.hasSuffix(".zst") || path.hasSuffix(".zstd") { return .zstd }
        if path.hasSuffix(".gz") || path.hasSuffix(".gzip") { return .gzip }
        return .none
    }
}

/// A compressed output written through `OutputFile`: for a regular file, bytes go to
/// `PATH.tailscope-tmp-PID`, which is renamed over PATH by `commit()` only after the compressor
/// is flushed and the file is synced; `abandon()` (or dropping the sink without committing)
/// removes the temporary file, so an interrupted or failed run never leaves a file at PATH that
/// looks complete. `-` writes to standard output; a device or FIFO is written in place.
public final class AtomicSink {
    public let path: String
    public let compression: OutputCompression
    private let out: OutputFile
    private var zcctx: OpaquePointer?
    private var gz: UnsafeMutablePointer<z_stream>?
    private let outBuf: UnsafeMutableRawBufferPointer
    private var pending: [UInt8] = []
    private var done = false
    /// Uncompressed bytes written.
    public private(set) var bytesIn: Int64 = 0
    /// Bytes written to the file.
    public private(set) var bytesOut: Int64 = 0

    /// - Parameters:
    ///   - level: the zstd level (1-19) or gzip level (1-9).
    ///   - threads: zstd worker threads (0: compress on the calling thread).
    public init(path: String, compression: OutputCompression, level: Int = 3, threads: Int = 0) throws {
        self.path = path
        self.compression = compression
        out = try OutputFile(path: path)
        outBuf = .allocate(byteCount: 1 << 20, alignment: 16)
        switch compression {
        case .zstd:
            zcctx = ZSTD_createCCtx()
            ZSTD_CCtx_setParameter(zcctx, ZSTD_c_compressionLevel, Int32(level))
            ZSTD_CCtx_setParameter(zcctx, ZSTD_c_checksumFlag, 1)
            // Ignored (returns an error code) by a libzstd built without threads; then it is single-threaded.
            if threads > 0 { ZSTD_CCtx_setParameter(zcctx, ZSTD_c_nbWorkers, Int32(threads)) }
        case .gzip:
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            // windowBits 15 + 16: a gzip header and trailer.
            guard deflateInit2_(z, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                z.deallocate()
                out.abandon()
                throw OutputError(path: path, "cannot start a gzip stream")
            }
            gz = z
        case .none:
            break
        }
        pending.reserveCapacity(1 << 20)
    }

    deinit {
        if !done { abandon() }
        outBuf.deallocate()
    }

    private func writeAll(_ p: UnsafeRawPointer, _ n: Int) throws {
        try out.write(p, n)
        bytesOut += Int64(n)
    }

    /// Appends bytes (buffered; compressed in blocks of 1 MiB).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesIn += Int64(bytes.count)
        pending.append(contentsOf: bytes)
        if pending.count >= 1 << 20 { try flushPending(end: false) }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (b) in try write(b) }
    }

    private func flushPending(end: Bool) throws {
        let data = pending
        pending.removeAll(keepingCapacity: true)
        try data.withUnsafeBytes { (src) in
            switch compression {
            case .none:
                if src.count > 0 { try writeAll(src.baseAddress!, src.count) }
            case .zstd:
                var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                while true {
                    var output = ZSTD_outBuffer(dst: outBuf.baseAddress, size: outBuf.count, pos: 0)
                    let rc = ZSTD_compressStream2(zcctx, &output, &input, end ? ZSTD_e_end : ZSTD_e_continue)
                    if ZSTD_isError(rc) != 0 { throw OutputError(path: path, "zstd: \(String(cString: ZSTD_getErrorName(rc)))") }
                    if output.pos > 0 { try writeAll(outBuf.baseAddress!, output.pos) }
                    if end ? rc == 0 : input.pos == input.size { break }
                }
            case .gzip:
                let z = gz!
                z.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: UInt8.self))
                z.pointee.avail_in = UInt32(src.count)
                while true {
                    z.pointee.next_out = outBuf.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    z.pointee.avail_out = UInt32(outBuf.count)
                    let rc = deflate(z, end ? Z_FINISH : Z_NO_FLUSH)
                    if rc == Z_STREAM_ERROR { throw OutputError(path: path, "gzip stream error") }
                    let n = outBuf.count - Int(z.pointee.avail_out)
                    if n > 0 { try writeAll(outBuf.baseAddress!, n) }
                    if end ? rc == Z_STREAM_END : (z.pointee.avail_in == 0 && z.pointee.avail_out != 0) { break }
                }
            }
        }
    }

    /// True when the bytes go to standard output.
    public var isStandardOutput: Bool { out.isStandardOutput }

    /// Finishes the stream, syncs, and renames the temporary file over `path`.
    public func commit() throws {
        precondition(!done)
        do {
            try flushPending(end: true)
        } catch {
            abandon()
            throw error
        }
        freeCompressor()
        done = true
        try out.commit()
    }

    /// Removes the temporary file; PATH is left as it was.
    public func abandon() {
        if done { return }
        done = true
        out.abandon()
        freeCompressor()
    }

    private func freeCompressor() {
        if let c = zcctx { ZSTD_freeCCtx(c); zcctx = nil }
        if let z = gz { deflateEnd(z); z.deallocate(); gz = nil }
    }
}
