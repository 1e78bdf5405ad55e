import CZlib
import CZstd

/// Streams a zstd file: any number of concatenated frames (skippable frames included) and
/// window sizes up to 2^31 (files written with `zstd --long`).
///
/// A frame that is still open when the file ends is reported as truncated; a frame that does not
/// decode is reported as corrupt, with the compressed byte offset.
public final class ZstdSource: ByteSource {
    private let file: FileSource
    private let dctx: OpaquePointer
    private let inBuf: UnsafeMutableRawBufferPointer
    private var inPos = 0
    private var inEnd = 0
    private var fileEnded = false
    /// True while a frame has been started and not finished.
    private var inFrame = false

    public var fileOffset: Int64 { file.fileOffset - Int64(inEnd - inPos) }

    public init(file: FileSource) throws(InputError) {
        self.file = file
        guard let d = ZSTD_createDCtx() else {
            throw InputError(.unreadable, path: file.path, "cannot allocate a zstd decoder")
        }
        dctx = d
        // Accept any window a legal frame may ask for (`zstd --long=31`).
        ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31)
        inBuf = UnsafeMutableRawBufferPointer.allocate(byteCount: ZSTD_DStreamInSize() * 4, alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        inBuf.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while output.pos == 0 {
            if inPos == inEnd && !fileEnded {
                let n = try file.read(into: inBuf)
                if n == 0 {
                    fileEnded = true
                } else {
                    inPos = 0
                    inEnd = n
                }
            }
            let atEnd = inPos == inEnd && fileEnded
            if atEnd && !inFrame { break }
            var input = ZSTD_inBuffer(src: inBuf.baseAddress, size: inEnd, pos: inPos)
            let ret = ZSTD_decompressStream(dctx, &output, &input)
            inPos = input.pos
            if ZSTD_isError(ret) != 0 {
                let name = String(cString: ZSTD_getErrorName(ret))
                throw InputError(.corrupt, path: file.path, offset: fileOffset, "zstd: \(name)")
            }
            // 0 means a frame is complete and fully flushed; anything else is a hint.
            inFrame = ret != 0
            if atEnd && output.pos == 0 {
                // No input left and nothing more came out: the last frame is cut short.
                if inFrame {
                    throw InputError(.truncated, path: file.path, offset: fileOffset,
                                     "the file ends inside a zstd frame")
                }
                break
            }
        }
        return output.pos
    }
}

/// Streams a gzip (or zlib) file: multi-member files, header extra/name/comment fields, trailing
/// zero padding. A member still open at the end of the file is reported as truncated.
public final class GzipSource: ByteSource {
    private let file: FileSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let inBuf: UnsafeMutableRawBufferPointer
    private var fileEnded = false
    private var inMember = false
    private var finished = false

    public var fileOffset: Int64 { file.fileOffset - Int64(stream.pointee.avail_in) }

    public init(file: FileSource) throws(InputError) {
        self.file = file
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        inBuf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        // 15 + 32: largest window, detect gzip or zlib headers automatically.
        let rc = inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if rc != Z_OK {
            throw InputError(.unreadable, path: file.path, "cannot initialise zlib (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        inBuf.deallocate()
    }

    private func refill() throws(InputError) -> Bool {
        if fileEnded { return false }
        let n = try file.read(into: inBuf)
        if n == 0 {
            fileEnded = true
            return false
        }
        stream.pointee.next_in = inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(n)
        return true
    }

    /// After a member ends: another member follows, or only zero padding, or garbage.
    private func startNextMemberIfAny() throws(InputError) -> Bool {
        while true {
            if stream.pointee.avail_in == 0 {
                if try !refill() { return false }
            }
            let p = stream.pointee.next_in!
            let n = Int(stream.pointee.avail_in)
            // Skip zero padding (some tools pad gzip files to a block size).
            var i = 0
            while i < n && p[i] == 0 { i += 1 }
            stream.pointee.next_in = p + i
            stream.pointee.avail_in = uInt(n - i)
            if stream.pointee.avail_in == 0 { continue }
            if stream.pointee.next_in[0] != 0x1f {
                throw InputError(.corrupt, path: file.path, offset: fileOffset,
                                 "data after the end of the last gzip member is not gzip")
            }
            inflateReset(stream)
            return true
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if finished { return 0 }
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(buffer.count)
        while stream.pointee.avail_out == uInt(buffer.count) {
            var atEnd = false
            if stream.pointee.avail_in == 0 {
                atEnd = try !refill()
                if atEnd && !inMember {
                    finished = true
                    break
                }
            }
            let before = stream.pointee.avail_out
            let rc = inflate(stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                inMember = true
                if atEnd && stream.pointee.avail_out == before {
                    throw InputError(.truncated, path: file.path, offset: fileOffset,
                                     "the file ends inside a gzip member")
                }
            case Z_STREAM_END:
                inMember = false
                if try !startNextMemberIfAny() {
                    finished = true
                    return buffer.count - Int(stream.pointee.avail_out)
                }
            default:
                let msg = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw InputError(.corrupt, path: file.path, offset: fileOffset, "gzip: \(msg)")
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }
}
