#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines (`\n`; a trailing `\r` is kept for the caller to ignore).
///
/// The returned slice points into an internal buffer and is valid until the next call.
/// - Complexity: O(bytes); memory is the largest line seen plus one read block, capped by
///   `maxLineBytes` (longer lines are reported, not buffered).
public final class LineReader {
    public let source: ByteSource
    public let maxLineBytes: Int
    private var buf: UnsafeMutableRawPointer
    private var cap: Int
    private var start = 0   // first unconsumed byte
    private var end = 0     // one past the last valid byte
    private var eof = false
    /// 1-based number of the line returned last.
    public private(set) var lineNumber = 0
    /// Offset in the decompressed stream of the line returned last.
    public private(set) var lineOffset: Int64 = 0
    private var consumed: Int64 = 0   // decompressed bytes before `buf[start]`
    private let blockSize: Int

    public enum Line {
        case line(UnsafeRawBufferPointer)
        /// A line longer than `maxLineBytes`; it has been skipped up to its newline.
        case tooLong(length: Int64)
        case end
    }

    public init(source: ByteSource, maxLineBytes: Int = 64 << 20, blockSize: Int = 1 << 20) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        self.blockSize = blockSize
        cap = blockSize * 2
        buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
    }

    deinit { buf.deallocate() }

    /// Total decompressed bytes handed out so far.
    public var bytesRead: Int64 { consumed }

    private func fill() throws(InputError) -> Bool {
        if eof { return false }
        if start > 0 {
            if end > start { memmove(buf, buf + start, end - start) }
            end -= start
            start = 0
        }
        if cap - end < blockSize {
            let newCap = max(cap * 2, end + blockSize)
            let nb = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 16)
            nb.copyMemory(from: buf, byteCount: end)
            buf.deallocate()
            buf = nb
            cap = newCap
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: buf + end, count: cap - end))
        if n == 0 {
            eof = true
            return false
        }
        end += n
        return true
    }

    public func next() throws(InputError) -> Line {
        var scanFrom = start
        while true {
            if scanFrom < end, let nl = memchr(buf + scanFrom, 0x0A, end - scanFrom) {
                let nlPos = buf.distance(to: nl)
                let line = UnsafeRawBufferPointer(start: buf + start, count: nlPos - start)
                lineNumber += 1
                lineOffset = consumed
                consumed += Int64(nlPos + 1 - start)
                start = nlPos + 1
                return line.count > maxLineBytes ? .tooLong(length: Int64(line.count)) : .line(line)
            }
            scanFrom = end
            if end - start > maxLineBytes {
                return try skipLongLine()
            }
            let before = start
            if try !fill() {
                if end > start {
                    let line = UnsafeRawBufferPointer(start: buf + start, count: end - start)
                    lineNumber += 1
                    lineOffset = consumed
                    consumed += Int64(end - start)
                    start = end
                    return line.count > maxLineBytes ? .tooLong(length: Int64(line.count)) : .line(line)
                }
                return .end
            }
            scanFrom -= before - start  // the buffer moved left by `before`
        }
    }

    private func skipLongLine() throws(InputError) -> Line {
        lineNumber += 1
        lineOffset = consumed
        var length = Int64(end - start)
        start = end
        while true {
            if try !fill() {
                consumed += length
                return .tooLong(length: length)
            }
            if let nl = memchr(buf + start, 0x0A, end - start) {
                let nlPos = buf.distance(to: nl)
                length += Int64(nlPos - start)
                consumed += length + 1
                start = nlPos + 1
                return .tooLong(length: length)
            }
            length += Int64(end - start)
            start = end
        }
    }
}
