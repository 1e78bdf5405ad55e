import Counting
import Support
#if canImport(Glibc)
import Glibc
#endif

extension IndexWriter {
    /// Writes the union of several indexes' vocabularies, summing counts and document
    /// frequencies, with ids in token byte order, reading each input's `vocab` in token order
    /// (through its `vocab_token` index) and never holding the vocabulary in memory: the inputs
    /// are merged as sorted streams and each row is appended. Returns, per input, its ids' new
    /// ids (4 bytes per input token: what a merge of n-gram rows needs).
    public func writeMergedVocabulary(_ readers: [IndexReader]) throws(StoreError) -> [[UInt32]] {
        try conn.exec("CREATE UNIQUE INDEX IF NOT EXISTS vocab_token ON vocab(token);")
        let first = try conn.prepare("INSERT INTO vocab(id, token, count, df) VALUES (0, ?, ?, ?)")
        let next = try conn.prepare("INSERT INTO vocab(token, count, df) VALUES (?, ?, ?)")
        // One cursor per input, at its smallest token not yet merged.
        final class Cursor {
            let st: Statement
            var token: [UInt8] = []
            var id: UInt32 = 0, count: UInt64 = 0, df: UInt64 = 0
            var done = false
            init(_ st: Statement) { self.st = st }
            func advance() throws(StoreError) {
                guard try st.step() else { done = true; return }
                id = UInt32(st.int(0))
                let b = st.bytes(1)
                token.removeAll(keepingCapacity: true)
                token.append(contentsOf: b)
                count = UInt64(bitPattern: st.int(2)); df = UInt64(bitPattern: st.int(3))
            }
        }
        var maps: [[UInt32]] = []
        var cursors: [Cursor] = []
        for r in readers {
            let n = Int(try r.db.prepare("SELECT COALESCE(MAX(id), -1) + 1 FROM vocab").stepInt())
            maps.append([UInt32](repeating: UInt32.max, count: n))
            let c = Cursor(try r.db.prepare("SELECT id, token, count, df FROM vocab ORDER BY token"))
            try c.advance()
            cursors.append(c)
        }
        func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            a.withUnsafeBytes { x in b.withUnsafeBytes { y in SortedVocabulary.less(x, y) } }
        }
        var summary = OrderSummary(order: 1)
        var tally = CountTally()
        var top = TopK(k: storedTopK, order: 1)
        var newId: UInt32 = 0
        while true {
            var smallest: [UInt8]? = nil
            for c in cursors where !c.done {
                if smallest == nil || less(c.token, smallest!) { smallest = c.token }
            }
            guard let token = smallest else { break }
            var count: UInt64 = 0, df: UInt64 = 0
            for (k, c) in cursors.enumerated() where !c.done && c.token == token {
                count &+= c.count; df &+= c.df
                maps[k][Int(c.id)] = newId
                try c.advance()
            }
            let st = newId == 0 ? first : next
            token.withUnsafeBytes { st.bindTextNoCopy(1, $0) }
            st.bind(2, count); st.bind(3, df)
            try st.run()
            summary.total &+= count
            summary.types += 1
            tally.add(count)
            var id = newId
            top.offer(&id, count: count, df: df)
            newId += 1
        }
        summary.stored = summary.types
        summary.countOfCounts = tally.countOfCounts
        summary.top = top.sorted()
        try writeSummary(summary) { id in (try? self.token(id: id)) ?? "" }
        return maps
    }

    /// The text of a token already written (top-n-gram lists of merged indexes).
    public func token(id: UInt32) throws(StoreError) -> String {
        if tokenStatement == nil { tokenStatement = try conn.prepare("SELECT token FROM vocab WHERE id = ?1") }
        let st = tokenStatement!
        st.reset()
        st.bind(1, Int64(id))
        let text = try st.step() ? st.text(0) : ""
        st.reset()
        return text
    }
}

extension Statement {
    /// The first column of the first row as an integer.
    func stepInt() throws(StoreError) -> Int64 { try step() ? int(0) : 0 }
}
