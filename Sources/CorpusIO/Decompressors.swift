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
    /// Compressed offset where the current frame starts (for locating a damaged block).
    private var frameStart: Int64 = 0
    /// An error found after some bytes of the same call were decoded: those bytes are returned
    /// first, the error on the next call.
    private var pending: InputError?

    /// The decoder is given at most this much input per call, so a damaged block is found
    /// within a slice of the file, not somewhere in a large read buffer.
    static let slice = 16 << 10

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
        if let e = pending { throw e }
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
            let callStart = fileOffset
            var input = ZSTD_inBuffer(src: inBuf.baseAddress, size: min(inEnd, inPos + Self.slice), pos: inPos)
            let ret = ZSTD_decompressStream(dctx, &output, &input)
            inPos = input.pos
            if ZSTD_isError(ret) != 0 {
                // Everything decoded before the damaged block is handed out first.
                let name = String(cString: ZSTD_getErrorName(ret))
                let at = damagedBlock(callStart: callStart, callEnd: callStart + Int64(input.size - input.pos))
                let e = InputError(.corrupt, path: file.path, offset: at,
                                   "zstd: \(name) in the block at compressed byte \(at); the \(output.pos > 0 ? "text before it was read" : "rest of the file is unreadable")")
                if output.pos > 0 {
                    pending = e
                    return output.pos
                }
                throw e
            }
            // 0 means a frame is complete and fully flushed; anything else is a hint.
            inFrame = ret != 0
            if ret == 0 { frameStart = fileOffset }
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

    /// The compressed offset of the block that failed: the first block of the current frame
    /// that ends after the input the failing call started at (blocks are decoded only once
    /// complete, so every block that ended earlier decoded). Found by walking the frame's block
    /// headers with `pread`; if the headers themselves are damaged, the call's start.
    private func damagedBlock(callStart: Int64, callEnd: Int64) -> Int64 {
        var head = [UInt8](repeating: 0, count: 18)
        guard file.pread(&head, at: frameStart) == head.count else { return callStart }
        // The frame header (RFC 8878 3.1.1): magic, descriptor, window byte unless single
        // segment, dictionary id (0/1/2/4 bytes), content size (0 or 1/2/4/8 bytes).
        guard head[0] == 0x28, head[1] == 0xB5, head[2] == 0x2F, head[3] == 0xFD else { return callStart }
        let fhd = head[4]
        let single = (fhd >> 5) & 1 == 1
        let did = [0, 1, 2, 4][Int(fhd & 3)]
        let fcs = [single ? 1 : 0, 2, 4, 8][Int(fhd >> 6)]
        var pos = frameStart + 5 + (single ? 0 : 1) + Int64(did + fcs)
        var bh = [UInt8](repeating: 0, count: 3)
        while pos < callEnd + 3 {
            guard file.pread(&bh, at: pos) == 3 else { return callStart }
            let v = Int64(bh[0]) | Int64(bh[1]) << 8 | Int64(bh[2]) << 16
            let type = (v >> 1) & 3
            if type == 3 { return pos }  // reserved block type: this header is the damage
            let size = type == 1 ? 1 : v >> 3
            let end = pos + 3 + size
            if end > callStart { return pos }
            if v & 1 == 1 { return end }  // last block; the checksum follows
            pos = end
        }
        return callStart
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
    private var pending: InputError?

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
        if let e = pending { throw e }
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
                let e = InputError(.corrupt, path: file.path, offset: fileOffset, "gzip: \(msg)")
                // Bytes decoded before the error (all of a member whose checksum is wrong) come first.
                let produced = buffer.count - Int(stream.pointee.avail_out)
                if produced > 0 {
                    pending = e
                    return produced
                }
                throw e
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }
}
