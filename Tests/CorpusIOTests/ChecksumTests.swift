import Foundation
import Synchronization
import Testing
import TestSupport
import Support
@testable import CorpusIO

/// File checksums (CRC-32 and Adler-32 of the file's bytes, as zlib computes them), read on a
/// helper thread that may be held to an allowance of bytes.
@Suite struct ChecksumTests {
    /// `n` bytes that differ from MiB to MiB.
    func file(_ dir: String, _ name: String, bytes n: Int, seed: UInt64) -> String {
        var g = SplitMix(seed: seed)
        let data = Data((0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) })
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// The whole file at once, by the definitions: CRC-32 (reflected, polynomial 0xEDB88320,
    /// initial and final XOR 0xFFFFFFFF) from a table made bit by bit, and Adler-32 (two sums
    /// modulo 65521).
    func reference(_ path: String) -> FileChecksum {
        let d = [UInt8](FileManager.default.contents(atPath: path)!)
        let table = (0..<256).map { n -> UInt32 in
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            return c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        var a: UInt32 = 1, b: UInt32 = 0
        for x in d {
            crc = table[Int((crc ^ UInt32(x)) & 0xFF)] ^ (crc >> 8)
            a = (a + UInt32(x)) % 65521
            b = (b + a) % 65521
        }
        return FileChecksum(size: Int64(d.count), crc32: crc ^ 0xFFFF_FFFF, adler32: b << 16 | a)
    }

    @Test func aChecksumIsAskedBeforeEachMiBAndStopsWhenTold() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = file(dir, "a.bin", bytes: 3 << 20 | 12345, seed: 1)
        var asked: [Int64] = []
        let c = try FileChecksum.of(path: path, proceed: { asked.append($0); return true })
        #expect(c == reference(path))
        #expect(asked == [0, 1 << 20, 2 << 20, 3 << 20, 3 << 20 | 12345])
        asked = []
        #expect(try FileChecksum.of(path: path, proceed: { asked.append($0); return $0 < 2 << 20 }) == nil)
        #expect(asked == [0, 1 << 20, 2 << 20])
    }

    /// The thread reads no further than its allowance: with the allowance held inside the
    /// second file, the task is not done; raised to the end, its checksums are zlib's.
    @Test func aTaskReadsUpToItsAllowanceThenToTheEndOnceReleased() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let paths = [file(dir, "a.bin", bytes: 2 << 20 | 7, seed: 2), file(dir, "b.bin", bytes: 3 << 20, seed: 3)]
        let allowed = Atomic<Int64>((2 << 20 | 7) + (1 << 20) + 1)
        let calls = Atomic<Int>(0)
        let task = ChecksumTask(paths: paths, skipUnreadable: false, allowance: {
            calls.add(1, ordering: .relaxed)
            return allowed.load(ordering: .relaxed)
        })
        // The first file and the second's first two MiB are allowed (a MiB is read when its
        // start is); the thread then waits, asking again every few milliseconds.
        usleep(200_000)
        let waiting = calls.load(ordering: .relaxed)
        usleep(50_000)
        #expect(calls.load(ordering: .relaxed) > waiting)
        allowed.store(Int64.max, ordering: .relaxed)
        #expect(try task.wait() == paths.map(reference))
    }

    /// A task whose allowance never comes stops when it is dropped (a run that fails).
    @Test func aTaskWaitingForItsAllowanceStopsWhenDropped() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = file(dir, "a.bin", bytes: 2 << 20, seed: 4)
        let start = Date()
        do {
            let task = ChecksumTask(paths: [path], skipUnreadable: false, allowance: { 0 })
            usleep(20_000)
            withExtendedLifetime(task) {}
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
