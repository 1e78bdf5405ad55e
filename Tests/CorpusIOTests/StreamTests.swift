import Foundation
import Testing
import TestSupport
import Support
@testable import CorpusIO

/// The corpus stream can be started before its consumers exist (a pass reads ahead while it sets
/// up, then settles to its usual queues) and stopped at any point, its reader waiting on full
/// queues or not.
@Suite struct StreamTests {
    func corpus(_ dir: String, docs: Int) -> String {
        let path = dir + "/c.jsonl"
        TestSupport.write(path, (0..<docs).map { "{\"text\": \"document \($0) " + String(repeating: "word ", count: 50) + "\"}\n" }.joined())
        return path
    }

    @Test func aStreamNobodyReadsStopsWithItsReaderWaitingOnFullQueues() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = corpus(dir, docs: 2000)
        // Batches of ~1 KB, queues of 3: the reader fills them and waits.
        let s = CorpusStream(inputs: [path], read: ReadOptions(), lanes: 2, batchBytes: 1024)
        let deadline = Date().addingTimeInterval(10)
        while s.progress.docs.load(ordering: .relaxed) < 6 && Date() < deadline { usleep(1000) }
        usleep(20_000)
        // Six batches queued of more than a hundred: the reader waits, far from the end.
        #expect(s.progress.docs.load(ordering: .relaxed) < 100)
        s.stop()
        #expect(Date() < deadline)
    }

    @Test func aReadAheadFillsTheQueuesUntilSettledAndEveryDocumentArrivesInOrder() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = corpus(dir, docs: 1000)
        // About 290 bytes a document, 1 KB batches (4 documents): a read-ahead of 80 KB is about
        // 80 batches, 320 documents, of the 1000.
        let s = CorpusStream(inputs: [path], read: ReadOptions(), lanes: 2, batchBytes: 1024, readAhead: 80 << 10)
        defer { s.stop() }
        let deadline = Date().addingTimeInterval(10)
        while s.progress.docs.load(ordering: .relaxed) < 250 && Date() < deadline { usleep(1000) }
        // Settled: the queues (over 30 batches each by now) drain below three batches before the
        // reader goes on, so taking 20 of one leaves it waiting where it is.
        s.settle()
        usleep(20_000)
        let ahead = s.progress.docs.load(ordering: .relaxed)
        #expect(ahead >= 250 && ahead < 400)
        let c = Collector(s)
        for _ in 0..<20 { _ = c.take(0) }
        usleep(20_000)
        #expect(s.progress.docs.load(ordering: .relaxed) == ahead)
        // One consumer per queue, as the lanes are.
        DispatchQueue.concurrentPerform(iterations: 2) { q in while c.take(q) {} }
        let docs = c.texts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        #expect(docs.count == 1000)
        #expect(docs.enumerated().allSatisfy { $1.hasPrefix("document \($0) ") })
    }

    @Test func lanesSharingOneQueueTakeEveryBatchOnce() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = corpus(dir, docs: 1000)
        let s = CorpusStream(inputs: [path], read: ReadOptions(), lanes: 3, sharedQueue: true, batchBytes: 1024, readAhead: 16 << 10)
        defer { s.stop() }
        #expect(s.queues.count == 1)
        s.settle()
        // Three consumers of the one queue, one slow: the others take more, and nothing twice.
        let c = Collector(s)
        let taken = Locked([0, 0, 0])
        let threads = (0..<3).map { k in
            JoinableThread {
                while c.take(0) {
                    taken.withLock { $0[k] += 1 }
                    if k == 0 { usleep(5_000) }
                }
            }
        }
        for t in threads { t.join() }
        let docs = c.texts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        #expect(docs.count == 1000)
        #expect(docs.enumerated().allSatisfy { $1.hasPrefix("document \($0) ") })
        #expect(Set(c.texts.map(\.0)).count == c.texts.count)
        let t = taken.withLock { $0 }
        #expect(t[1] + t[2] > 4 * t[0])
    }
}

/// Takes a stream's batches, from any thread, and keeps their documents by batch number.
final class Collector: @unchecked Sendable {
    let stream: CorpusStream
    private let lock = NSLock()
    private(set) var texts: [(Int, [String])] = []

    init(_ s: CorpusStream) { stream = s }

    func take(_ q: Int) -> Bool {
        guard let b = stream.queues[q].pop() else { return false }
        var t: [String] = []
        b.forEachDocument { t.append(String(decoding: $0, as: UTF8.self)) }
        lock.lock(); texts.append((b.seq, t)); lock.unlock()
        stream.recycle(b)
        return true
    }
}
