import CZlib
import Support
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A stream of bytes: a file, or a decompressor reading a file.
public protocol ByteSource: AnyObject {
    /// Fills `buffer` with up to `buffer.count` bytes; returns 0 only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
    /// Bytes consumed from the underlying file so far (for progress and error offsets).
    var fileOffset: Int64 { get }
}

/// Reads a file with `read(2)` in large blocks.
public final class FileSource: ByteSource {
    public let path: String
    private let fd: Int32
    public private(set) var fileOffset: Int64 = 0

    public init(path: String) throws(InputError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            throw InputError(.unreadable, path: path, String(cString: strerror(errno)))
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 {
                fileOffset += Int64(n)
                return n
            }
            if errno == EINTR { continue }
            throw InputError(.unreadable, path: path, offset: fileOffset, String(cString: strerror(errno)))
        }
    }

    /// Reads up to `buffer.count` bytes at `offset` without moving the read position.
    func pread(_ buffer: inout [UInt8], at offset: Int64) -> Int {
        let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        return max(0, n)
    }

    /// Reads the first `count` bytes (or fewer) without disturbing later reads' semantics:
    /// callers use this on a fresh source only.
    func peek(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, count, 0) }
        return n > 0 ? Array(out[0..<n]) : []
    }
}

/// File identity used to recognise a source that is already indexed: size plus two
/// independent 32-bit checksums (CRC-32 and Adler-32) of the file's bytes.
public struct FileChecksum: Sendable, Equatable, CustomStringConvertible {
    public let size: Int64
    public let crc32: UInt32
    public let adler32: UInt32

    public var description: String {
        "crc32:\(hex(crc32))-adler32:\(hex(adler32))"
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// Reads the whole file once. Before each MiB, `proceed` is told the bytes read so far; the
    /// checksum stops (nil) when it returns false. - Complexity: O(file size), about 1 GB/s.
    public static func of(path: String, proceed: (Int64) -> Bool) throws(InputError) -> FileChecksum? {
        let src = try FileSource(path: path)
        let bufSize = 1 << 20
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: bufSize, alignment: 16)
        defer { buf.deallocate() }
        var c = CZlib.crc32(0, nil, 0)
        var a = CZlib.adler32(0, nil, 0)
        var size: Int64 = 0
        while true {
            if !proceed(size) { return nil }
            let n = try src.read(into: buf)
            if n == 0 { break }
            let p = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
            c = CZlib.crc32(c, p, UInt32(n))
            a = CZlib.adler32(a, p, UInt32(n))
            size += Int64(n)
        }
        return FileChecksum(size: size, crc32: UInt32(c), adler32: UInt32(a))
    }

    /// Reads the whole file once. - Complexity: O(file size), about 1 GB/s.
    public static func of(path: String) throws(InputError) -> FileChecksum {
        try of(path: path, proceed: { _ in true })!
    }
}

/// Checksums of files computed on a helper thread, while a pass reads them (`index` for a new
/// index, `cooccur` to check that its corpus is the index's).
public final class ChecksumTask: @unchecked Sendable {
    private let thread: JoinableThread
    private let box: ChecksumBox

    /// With `skipUnreadable`, a file that cannot be read gets no checksum (nil) instead of
    /// failing the run. With `allowance`, the thread reads no further into the files (their
    /// bytes counted in order, over all of them) than the allowance says: before each MiB it
    /// waits, looking again every few milliseconds, until the allowance reaches that MiB's start.
    /// An allowance of `Int64.max` lets it read to the end.
    public init(paths: [String], skipUnreadable: Bool, allowance: (@Sendable () -> Int64)? = nil) {
        let box = ChecksumBox()
        thread = JoinableThread {
            var before: Int64 = 0
            func proceed(_ offset: Int64) -> Bool {
                if let allowance {
                    while allowance() <= before + offset {
                        if box.cancelled.load(ordering: .relaxed) { return false }
                        usleep(5_000)
                    }
                }
                return !box.cancelled.load(ordering: .relaxed)
            }
            for p in paths {
                do throws(InputError) {
                    guard let c = try FileChecksum.of(path: p, proceed: proceed) else { return }
                    box.results.append(c)
                    before += c.size
                } catch {
                    if skipUnreadable && error.kind == .unreadable {
                        box.results.append(nil)
                        continue
                    }
                    box.failure = error
                    return
                }
            }
        }
        self.box = box
    }

    /// A run that fails or is interrupted stops the thread within a MiB of reading (or a few
    /// milliseconds of waiting for its allowance).
    deinit {
        box.cancelled.store(true, ordering: .relaxed)
        thread.join()
    }

    /// Waits for the thread (its allowance must come to let it finish); throws the first file's
    /// error.
    public func wait() throws -> [FileChecksum?] {
        thread.join()
        if let e = box.failure { throw e }
        return box.results
    }
}

private final class ChecksumBox: @unchecked Sendable {
    var results: [FileChecksum?] = []
    var failure: InputError?
    let cancelled = Atomic<Bool>(false)
}
