import Foundation
import Testing
import TestSupport
@testable import CorpusIO

/// The corpus stream can be started before its consumers exist (a pass reads ahead while it sets
/// up) and stopped at any point, its reader blocked on full queues or not.
@Suite struct StreamTests {
    func corpus(_ dir: String, docs: Int) -> String {
        let path = dir + "/c.jsonl"
        TestSupport.write(path, (0..<docs).map { "{\"text\": \"document \($0) " + String(repeating: "word ", count: 50) + "\"}\n" }.joined())
        return path
    }

    @Test func aStreamNobodyReadsStopsWithItsReaderWaitingOnFullQueues() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = corpus(dir, docs: 2000)
        // Batches of ~1 KB, queues of 2: the reader fills them and waits.
        let s = CorpusStream(inputs: [path], read: ReadOptions(), lanes: 2, batchBytes: 1024, queueDepth: 2)
        let deadline = Date().addingTimeInterval(10)
        while s.progress.docs.load(ordering: .relaxed) < 4 && Date() < deadline { usleep(1000) }
        usleep(20_000)
        // Four batches queued of more than a hundred: the reader waits, far from the end.
        #expect(s.progress.docs.load(ordering: .relaxed) < 100)
        s.stop()
        #expect(Date() < deadline)
    }

    @Test func aDeepQueueReadsAheadAndStillDeliversEveryDocumentInOrder() throws {
        let dir = TestSupport.tempDir(); defer { TestSupport.cleanup(dir) }
        let path = corpus(dir, docs: 500)
        let s = CorpusStream(inputs: [path], read: ReadOptions(), lanes: 2, batchBytes: 1024, queueDepth: 1000)
        defer { s.stop() }
        // Nobody reads yet: the reader gets to the end on its own.
        let deadline = Date().addingTimeInterval(10)
        while s.progress.docs.load(ordering: .relaxed) < 500 && Date() < deadline { usleep(1000) }
        #expect(s.progress.docs.load(ordering: .relaxed) == 500)
        var texts: [(Int, [String])] = []
        for q in s.queues {
            while let b = q.pop() {
                var t: [String] = []
                b.forEachDocument { t.append(String(decoding: $0, as: UTF8.self)) }
                texts.append((b.seq, t))
                s.recycle(b)
            }
        }
        let docs = texts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        #expect(docs.count == 500)
        #expect(docs.enumerated().allSatisfy { $1.hasPrefix("document \($0) ") })
    }
}
