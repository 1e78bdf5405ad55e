import Counting
import CPrefetch
import Synchronization
import CorpusIO
import Matching
import Tokenization

/// A read-only compressed-sparse-row table: row `i` is `list[start[i] ..< start[i + 1]]`.
/// Built once from arrays of arrays, read in the hot loop without reference counting.
struct CSR {
    let start: UnsafeMutableBufferPointer<Int32>
    let list: UnsafeMutableBufferPointer<Int32>

    init(_ rows: [[Int32]]) {
        start = .allocate(capacity: rows.count + 1)
        let total = rows.reduce(0) { $0 + $1.count }
        list = .allocate(capacity: max(1, total))
        var k = 0
        for (i, r) in rows.enumerated() {
            start[i] = Int32(k)
            for x in r { list[k] = x; k += 1 }
        }
        start[rows.count] = Int32(k)
    }

    /// `rows` rows from (row, value) entries, each row's values in the order given (a counting
    /// sort: no array per row).
    init(rows: Int, entries: [(row: Int32, value: Int32)]) {
        start = .allocate(capacity: rows + 1)
        start.initialize(repeating: 0)
        for e in entries { start[Int(e.row) + 1] += 1 }
        for i in 0..<rows { start[i + 1] += start[i] }
        list = .allocate(capacity: max(1, entries.count))
        var at = [Int32](start[0..<rows])
        for e in entries { list[Int(at[Int(e.row)])] = e.value; at[Int(e.row)] += 1 }
    }

    @inline(__always) func bounds(_ i: Int) -> Range<Int> { Int(start[i])..<Int(start[i + 1]) }
    @inline(__always) func count(_ i: Int) -> Int { Int(start[i + 1] - start[i]) }

    func deallocate() { start.deallocate(); list.deallocate() }
}

/// The automaton's matches for a run of documents: document d's matches are
/// `patterns[docEnds[d - 1] ..< docEnds[d]]` (pattern ids) and the same range of `ends` (the token
/// position each match ends at).
struct MatchBatch {
    var patterns: [Int32] = []
    var ends: [Int32] = []
    var docEnds: [Int] = []
}

/// What the pair pass reads and never writes: pattern lengths, the pairs of each pattern (as question
/// term and as answer), the aliases of each pair, the questions of each pair, and a hash from
/// (term alias, answer alias) to the pairs that have both. Shared by the pass's workers.
final class PairTables: @unchecked Sendable {
    let patterns: Int
    let pairs: Int
    let questions: Int
    let patternLength: UnsafeMutableBufferPointer<Int32>
    let termToPairs: CSR, answerToPairs: CSR
    let pairTerm: CSR, pairAnswer: CSR
    let pairQuestions: CSR
    /// Parallel to `termToPairs.list` / `answerToPairs.list`: the pair's only alias on the other
    /// side, or -1 when it has several; the pair id is stored negated (~pid) in the list when the
    /// pair has several aliases on the listed side (so it can be reached twice in a document).
    let termSideOther: UnsafeMutableBufferPointer<Int32>
    let answerSideOther: UnsafeMutableBufferPointer<Int32>
    /// The distinct pairs of each question.
    let questionPairs: [[Int32]]
    let crossKeys: UnsafeMutableBufferPointer<UInt64>
    let crossRow: UnsafeMutableBufferPointer<Int32>
    let crossPairs: CSR
    let crossMask: Int
    /// One bit per key of `crossKeys` at `filterBit(key)` in a bitset of 8 bits per slot: most
    /// (term alias, answer alias) combinations of a window that no pair has are turned away by a
    /// word that stays in cache, not a probe of the table (at most a sixteenth pass by chance).
    let crossFilter: UnsafeMutableBufferPointer<UInt64>
    let filterShift: UInt64
    /// Per pattern: 1 when it is a question-term alias of some pair, 2 when an answer alias (or both).
    let role: UnsafeMutableBufferPointer<UInt8>
    /// Per pattern: its length << 2 | its role (one load in the per-match loop).
    let lengthRole: UnsafeMutableBufferPointer<UInt32>
    /// Per pattern: bit `partnerBit(q)` is set for every pattern q it forms a (term alias, answer
    /// alias) key with, either way round; the window scan skips most neighbours that are no
    /// partner without probing the key hash.
    let partners: UnsafeMutableBufferPointer<UInt64>

    /// The first slot of key `k` in the (term alias, answer alias) hash (a multiplicative hash;
    /// defined here so that the window scan inlines it).
    @inline(__always) static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    @inline(__always) static func filterBit(_ k: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (k &* 0xC2B2_AE3D_27D4_EB4F) >> shift)
    }

    @inline(__always) static func partnerShift(_ p: Int32) -> UInt64 { (UInt64(UInt32(p)) &* 0x9E37_79B9_7F4A_7C15) >> 58 }
    @inline(__always) static func partnerBit(_ p: Int32) -> UInt64 { 1 << partnerShift(p) }

    init(patternLength lengths: [Int32], pairTerm pt: [[Int32]], pairAnswer pa: [[Int32]], questionPairs: [[Int32]]) {
        patterns = lengths.count
        pairs = pt.count
        questions = questionPairs.count
        patternLength = filledBuffer(patterns, 0)
        for (i, l) in lengths.enumerated() { patternLength[i] = l }
        // Each pair's distinct aliases a side; per pattern, its pairs a side; and the pairs of each
        // (term alias, answer alias) key, from one sort of (key, pair) in pair order.
        let pts = pt.map(sortedUnique), pas = pa.map(sortedUnique)
        var keyed: [(key: UInt64, pid: Int32)] = []
        keyed.reserveCapacity(pairs)
        for pid in 0..<pairs {
            for t in pts[pid] { for a in pas[pid] { keyed.append((UInt64(UInt32(t)) << 32 | UInt64(UInt32(a)), Int32(pid))) } }
        }
        // By key, then pair: two stable counting sorts (by answer alias, then by term alias) of
        // entries made in pair order.
        keyed = stableCountingSort(stableCountingSort(keyed, buckets: lengths.count) { Int(truncatingIfNeeded: $0 & 0xFFFF_FFFF) },
                                   buckets: lengths.count) { Int(truncatingIfNeeded: $0 >> 32) }
        pairTerm = CSR(pts); pairAnswer = CSR(pas)
        /// Per pattern, the pairs it is an alias of on one side (ascending; ~pid when the pair has
        /// several aliases on that side), and parallel to them the pair's only alias on the other
        /// side, or -1.
        let pairCount = pt.count, patternCount = lengths.count
        func side(_ mine: CSR, _ others: CSR) -> (CSR, UnsafeMutableBufferPointer<Int32>) {
            var entries: [(row: Int32, value: Int32)] = []
            entries.reserveCapacity(Int(mine.start[pairCount]))
            for pid in 0..<pairCount {
                let several = mine.count(pid) > 1
                for k in mine.bounds(pid) { entries.append((mine.list[k], several ? ~Int32(pid) : Int32(pid))) }
            }
            let csr = CSR(rows: patternCount, entries: entries)
            let other = filledBuffer(max(1, Int(csr.start[patternCount])), Int32(-1))
            for k in 0..<Int(csr.start[patternCount]) {
                let e = csr.list[k]
                let pid = Int(e < 0 ? ~e : e)
                if others.count(pid) == 1 { other[k] = others.list[others.bounds(pid).lowerBound] }
            }
            return (csr, other)
        }
        (termToPairs, termSideOther) = side(pairTerm, pairAnswer)
        (answerToPairs, answerSideOther) = side(pairAnswer, pairTerm)
        self.questionPairs = questionPairs.map(sortedUnique)
        var qp: [(row: Int32, value: Int32)] = []
        for (qi, ps) in self.questionPairs.enumerated() { for pid in ps { qp.append((pid, Int32(qi))) } }
        pairQuestions = CSR(rows: pairs, entries: qp)
        var keys: [UInt64] = []
        var crossEntries: [(row: Int32, value: Int32)] = []
        crossEntries.reserveCapacity(keyed.count)
        for (k, pid) in keyed {
            if keys.last != k { keys.append(k) }
            crossEntries.append((Int32(keys.count - 1), pid))
        }
        var cap = 16
        while cap < keys.count * 2 { cap <<= 1 }
        crossMask = cap - 1
        crossKeys = filledBuffer(cap, UInt64.max)
        crossRow = filledBuffer(cap, 0)
        for (r, k) in keys.enumerated() {
            var i = Self.slot(k, crossMask)
            while crossKeys[i] != UInt64.max { i = (i + 1) & crossMask }
            crossKeys[i] = k; crossRow[i] = Int32(r)
        }
        crossPairs = CSR(rows: keys.count, entries: crossEntries)
        filterShift = UInt64(64 - (cap * 8).trailingZeroBitCount)
        crossFilter = filledBuffer(cap / 8, 0)
        for k in keys {
            let b = Self.filterBit(k, filterShift)
            crossFilter[b >> 6] |= 1 << UInt64(b & 63)
        }
        role = filledBuffer(patterns, 0)
        for p in 0..<patterns { role[p] = (termToPairs.count(p) == 0 ? 0 : 1) | (answerToPairs.count(p) == 0 ? 0 : 2) }
        lengthRole = filledBuffer(patterns, 0)
        precondition(lengths.allSatisfy { $0 > 0 && $0 < 1 << 29 }, "a pattern of no tokens or of 2^29 or more")
        for p in 0..<patterns { lengthRole[p] = UInt32(lengths[p]) << 2 | UInt32(role[p]) }
        partners = filledBuffer(patterns, 0)
        for k in keys {
            let t = Int32(truncatingIfNeeded: k >> 32), a = Int32(truncatingIfNeeded: k & 0xFFFF_FFFF)
            partners[Int(t)] |= Self.partnerBit(a)
            partners[Int(a)] |= Self.partnerBit(t)
        }
    }

    deinit {
        patternLength.deallocate(); termSideOther.deallocate(); answerSideOther.deallocate()
        for c in [termToPairs, answerToPairs, pairTerm, pairAnswer, pairQuestions, crossPairs] { c.deallocate() }
        crossKeys.deallocate(); crossRow.deallocate(); role.deallocate(); lengthRole.deallocate(); partners.deallocate(); crossFilter.deallocate()
    }
}

/// `x` ordered by `bucket(key)` (in `0 ..< buckets`), entries of one bucket in their order in `x`.
private func stableCountingSort(_ x: [(key: UInt64, pid: Int32)], buckets: Int,
                                _ bucket: (UInt64) -> Int) -> [(key: UInt64, pid: Int32)] {
    var start = [Int](repeating: 0, count: buckets + 1)
    for e in x { start[bucket(e.key) + 1] += 1 }
    for b in 0..<buckets { start[b + 1] += start[b] }
    return [(key: UInt64, pid: Int32)](unsafeUninitializedCapacity: x.count) { out, n in
        for e in x {
            let b = bucket(e.key)
            (out.baseAddress! + start[b]).initialize(to: e)
            start[b] += 1
        }
        n = x.count
    }
}

/// The distinct values of `x`, ascending.
private func sortedUnique(_ x: [Int32]) -> [Int32] {
    if x.count < 2 { return x }
    var out: [Int32] = []
    out.reserveCapacity(x.count)
    for v in x.sorted() where out.last != v { out.append(v) }
    return out
}

private func filledBuffer<T>(_ n: Int, _ v: T) -> UnsafeMutableBufferPointer<T> {
    let b = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, n))
    b.initialize(repeating: v)
    return b
}

/// The per-document work of `cooccur` for the documents one worker is given: term counts and
/// document frequencies for every pattern, and for every (question term, answer) pair present in a
/// document its window hits, credited to the pair and to the questions that hold it. Workers see
/// disjoint documents, so their results add up. All state lives in flat buffers.
final class PairPass {
    let tables: PairTables
    let window: Int32
    // The tables' buffers, copied out so the hot loop does not go through `tables`.
    let patternLength: UnsafeMutableBufferPointer<Int32>
    let termToPairs: CSR, answerToPairs: CSR
    let termSideOther: UnsafeMutableBufferPointer<Int32>, answerSideOther: UnsafeMutableBufferPointer<Int32>
    let pairTerm: CSR, pairAnswer: CSR
    let pairQuestions: CSR
    let crossRow: UnsafeMutableBufferPointer<Int32>
    let crossPairs: CSR
    let crossMask: Int
    let crossFilter: UnsafeMutableBufferPointer<UInt64>
    let filterShift: UInt64
    let role: UnsafeMutableBufferPointer<UInt8>
    let lengthRole: UnsafeMutableBufferPointer<UInt32>
    let partners: UnsafeMutableBufferPointer<UInt64>

    // Results.
    /// This worker's copy of the (term alias, answer alias) hash, each key beside its window hits
    /// (one cache line per hit; a hit adds to every pair of the key's row at the end).
    struct CrossSlot { var key: UInt64; var hits: UInt64 }
    let cross: UnsafeMutableBufferPointer<CrossSlot>
    /// Per pattern, 32 bytes (one record per occurrence counted): the last document it was seen in,
    /// its occurrences and documents, and the documents of the current block that hold it
    /// (`bits`, valid when `lastDoc` is in the block).
    struct PatternState { var lastDoc: Int64 = -1; var count: UInt64 = 0; var df: UInt64 = 0; var bits: UInt64 = 0 }
    let pattern: UnsafeMutableBufferPointer<PatternState>
    /// Per pair, 16 bytes so that crediting touches one cache line: its documents, the last
    /// superblock it was credited in (`stamp`), and its question when it has exactly one (-1:
    /// none, -2: several, listed in `pairQuestions`). Per question: the last superblock it was
    /// credited in, its documents, and its row in `questionRows` with the words set. (Window
    /// hits are the sum over a question's pairs: `PairTotals`.)
    struct PairState { var docs: UInt64 = 0; var stamp = UInt32.max; var question: Int32 = -1 }
    struct QuestionState { var stamp: Int64 = -1; var docs: UInt64 = 0; var slot: Int32 = 0; var lo: Int16 = 0; var hi: Int16 = 0 }
    let pairState: UnsafeMutableBufferPointer<PairState>
    let questionState: UnsafeMutableBufferPointer<QuestionState>

    /// One document's occurrences of question-term aliases and of answer aliases, as start << 32
    /// | pattern (the window scan sorts them by start). A window hit needs no other filter: two
    /// aliases within a window are both in the document, so every pair they are aliases of is
    /// present there.
    var termOcc: UnsafeMutablePointer<UInt64>, answerOcc: UnsafeMutablePointer<UInt64>
    var termCount = 0, answerCount = 0
    /// Room in each of them (at least one document's matches).
    var occCapacity = 1024
    /// The window scan's combinations that pass the filters, probed in a second loop (whose
    /// branches are predictable) with each slot fetched a few combinations ahead.
    let passed: UnsafeMutablePointer<UInt64>
    static let passedCapacity = 4096
    /// Documents are marked in blocks of 64: a pattern's `bits` say which documents of the block
    /// hold it (one word in the pattern's own record, set per occurrence). The pair aliases seen
    /// in the block:
    /// (A pattern is added once per block: room for every pattern, and one more for the write
    /// that is not kept.)
    let blockTouched: UnsafeMutablePointer<Int32>
    var blockTouchedCount = 0
    /// The first document of the block.
    var blockStart: Int64 = 0
    var blockDocs = 0
    /// Blocks are sealed into superblocks of `words` blocks, credited together: per pair alias
    /// seen in the superblock, a row of `words` words (its bits of each block), and a pair's
    /// documents are (OR of its term aliases' rows) AND (OR of its answer aliases'), so a pair
    /// present in many documents costs a few word operations per superblock, not a step per
    /// document or block. Rows are handed out per superblock from an arena (a slot per alias or
    /// question seen), which stays under `rowBudget` bytes, so `words` is smaller for very large
    /// eval sets.
    let words: Int
    static let rowBudget = 16 << 20
    struct RowState { var superblock: Int64 = -1; var slot: Int32 = 0; var lo: Int16 = 0; var hi: Int16 = 0 }
    let rowState: UnsafeMutableBufferPointer<RowState>
    let rows: UnsafeMutablePointer<UInt64>
    let questionRows: UnsafeMutablePointer<UInt64>
    var rowSlots: Int32 = 0, questionSlots: Int32 = 0
    /// The documents of the pair being credited (words `lo...hi`), and two scratch rows for pairs
    /// with several aliases a side.
    let pairBits: UnsafeMutablePointer<UInt64>, sideBits: UnsafeMutablePointer<UInt64>, otherBits: UnsafeMutablePointer<UInt64>
    /// The pair aliases seen in the superblock, the blocks sealed into it, its number.
    var superTouched: [Int32] = []
    var sub = 0
    var superblock: Int64 = 0
    var touchedQuestions: [Int32] = []
    /// The superblock's stamp in `PairState` (counts up to UInt32.max - 1, then every stamp is reset).
    var stamp: UInt32 = 0
    var touchedTerms: [Int32] = []
    var touchedAnswers: [Int32] = []
    /// Documents seen by this worker.
    var doc: Int64 = 0

    /// - blockWords: blocks per superblock (default: as many as the budget allows, at most 32).
    init(_ t: PairTables, window: Int, blockWords: Int? = nil) {
        tables = t
        self.window = Int32(window)
        patternLength = t.patternLength
        termToPairs = t.termToPairs; answerToPairs = t.answerToPairs
        termSideOther = t.termSideOther; answerSideOther = t.answerSideOther
        pairTerm = t.pairTerm; pairAnswer = t.pairAnswer; pairQuestions = t.pairQuestions
        crossRow = t.crossRow; crossPairs = t.crossPairs; crossMask = t.crossMask
        crossFilter = t.crossFilter; filterShift = t.filterShift
        cross = .allocate(capacity: t.crossMask + 1)
        for i in 0...t.crossMask { cross[i] = CrossSlot(key: t.crossKeys[i], hits: 0) }
        role = t.role
        lengthRole = t.lengthRole
        partners = t.partners
        pattern = filledBuffer(t.patterns, PatternState())
        pairState = filledBuffer(t.pairs, PairState()); questionState = filledBuffer(t.questions, QuestionState())
        for pid in 0..<t.pairs {
            let n = t.pairQuestions.count(pid)
            pairState[pid].question = n == 1 ? t.pairQuestions.list[t.pairQuestions.bounds(pid).lowerBound] : n == 0 ? -1 : -2
        }
        let aliases = max(1, (0..<t.patterns).reduce(0) { $0 + (t.role[$1] != 0 ? 1 : 0) })
        words = blockWords ?? max(1, min(32, Self.rowBudget / (8 * (aliases + t.questions))))
        rowState = filledBuffer(t.patterns, RowState())
        // Allocated, not touched: the pages of slots never handed out stay unmapped.
        rows = .allocate(capacity: aliases * words)
        questionRows = .allocate(capacity: max(1, t.questions) * words)
        termOcc = .allocate(capacity: occCapacity); answerOcc = .allocate(capacity: occCapacity)
        blockTouched = .allocate(capacity: t.patterns + 1)
        passed = .allocate(capacity: Self.passedCapacity)
        pairBits = .allocate(capacity: words); sideBits = .allocate(capacity: words); otherBits = .allocate(capacity: words)
    }

    deinit {
        pattern.deallocate(); pairState.deallocate(); questionState.deallocate(); cross.deallocate()
        rowState.deallocate(); rows.deallocate(); questionRows.deallocate()
        termOcc.deallocate(); answerOcc.deallocate(); blockTouched.deallocate(); passed.deallocate()
        pairBits.deallocate(); sideBits.deallocate(); otherBits.deallocate()
    }

    /// The slot of (term alias `t`, answer alias `a`) in `cross`, or -1 when no pair has both.
    @inline(__always) func crossSlot(_ t: Int32, _ a: Int32) -> Int {
        crossSlot(key: UInt64(UInt32(t)) << 32 | UInt64(UInt32(a)))
    }

    /// The slot of key `k` (term alias << 32 | answer alias) in `cross`, or -1.
    @inline(__always) func crossSlot(key k: UInt64) -> Int {
        var i = PairTables.slot(k, crossMask)
        while true {
            let kk = cross[i].key
            if kk == k { return i }
            if kk == UInt64.max { return -1 }
            i = (i + 1) & crossMask
        }
    }

    /// The pairs whose term alias is `t` and answer alias is `a` (empty when none).
    @inline(__always) func crossRange(_ t: Int32, _ a: Int32) -> Range<Int> {
        let i = crossSlot(t, a)
        return i < 0 ? 0..<0 : crossPairs.bounds(Int(crossRow[i]))
    }

    /// Counts the documents of a batch of matches, in order.
    func add(_ b: MatchBatch) {
        b.patterns.withUnsafeBufferPointer { ps in
            b.ends.withUnsafeBufferPointer { es in
                var lo = 0
                for hi in b.docEnds {
                    add(patterns: UnsafeBufferPointer(rebasing: ps[lo..<hi]), ends: UnsafeBufferPointer(rebasing: es[lo..<hi]))
                    lo = hi
                }
            }
        }
        finish()
    }

    /// Seals the last block and credits the last superblock (call after the last document).
    func finish() {
        if blockDocs > 0 { sealBlock() }
        if sub > 0 { flushSuperblock() }
    }

    /// Counts one document from its matches (pattern, end token position; ends ascending).
    func add(patterns matchPattern: UnsafeBufferPointer<Int32>, ends matchEnd: UnsafeBufferPointer<Int32>) {
        defer {
            doc += 1
            blockDocs += 1
            if blockDocs == 64 { sealBlock() }
        }
        if matchPattern.isEmpty { return }
        let bit = UInt64(1) << UInt64(blockDocs)
        // Occurrences and documents per pattern, the block's bits, and (for the window scan) the
        // document's occurrences of pair aliases.
        let n = matchPattern.count
        if n > occCapacity {
            while occCapacity < n { occCapacity *= 2 }
            termOcc.deallocate(); answerOcc.deallocate()
            termOcc = .allocate(capacity: occCapacity); answerOcc = .allocate(capacity: occCapacity)
        }
        // Locals, so that the loop keeps them in registers (its stores through the records'
        // pointers could otherwise alias the object's fields, which it would then load again).
        let termOcc = self.termOcc, answerOcc = self.answerOcc
        let touched = blockTouched
        let records = pattern.baseAddress!, lengthRole = self.lengthRole
        let blockStart = self.blockStart, doc = self.doc, windowed = window >= 0
        var nt = 0, na = 0, nb = blockTouchedCount
        for k in 0..<n {
            // The records are scattered over a table that outgrows the L2 cache for large eval
            // sets: fetch the one a few matches ahead.
            if k + 8 < n { ts_prefetch(records + Int(matchPattern[k + 8])) }
            let p = matchPattern[k]
            let s = records + Int(p)
            s.pointee.count &+= 1
            let lr = lengthRole[Int(p)]
            let r = lr & 3
            // Without a branch on whether this is the pattern's first occurrence in the
            // document or in the block (the bits of an earlier block are dropped).
            let last = s.pointee.lastDoc
            let newBlock = last < blockStart
            s.pointee.bits = (newBlock ? 0 : s.pointee.bits) | bit
            s.pointee.df &+= last != doc ? 1 : 0
            s.pointee.lastDoc = doc
            touched[nb] = p; nb &+= newBlock && r != 0 ? 1 : 0
            if windowed && r != 0 {
                let start = matchEnd[k] &- Int32(bitPattern: lr >> 2) &+ 1
                let x = UInt64(UInt32(bitPattern: start)) << 32 | UInt64(UInt32(bitPattern: p))
                termOcc[nt] = x; nt &+= Int(r & 1)
                answerOcc[na] = x; na &+= Int(r >> 1)
            }
        }
        termCount = nt; answerCount = na
        blockTouchedCount = nb
        if window >= 0 && nt > 0 && na > 0 { countWindows() }
    }

    /// Window hits: every two occurrences whose starts are at most `window` tokens apart and whose
    /// spans do not overlap, one of a question-term alias and the other of an answer alias of a
    /// pair, add one to that pair (once per such ordered pair of occurrences, so an alias on both
    /// sides of a pair counts as the sum over its alias combinations does). Each occurrence of
    /// the rarer side in the document looks at its neighbours: the work is per occurrence and
    /// window, not per pair present in the document. `termOcc`, `answerOcc`: the document's
    /// occurrences of question-term aliases and of answer aliases (an alias of both is in both).
    private func countWindows() {
        // Anchors are answer occurrences or term occurrences, whichever are fewer; each looks at
        // the other side's occurrences within the window (both lists sorted by start, so the
        // window's first one only moves forward).
        let anchorsAreAnswers = answerCount <= termCount
        let t = UnsafeMutableBufferPointer(start: termOcc, count: termCount)
        let a = UnsafeMutableBufferPointer(start: answerOcc, count: answerCount)
        sortByStart(t); sortByStart(a)
        let window = self.window
        let anchors = anchorsAreAnswers ? a : t, others = anchorsAreAnswers ? t : a
        let passed = self.passed, capacity = Self.passedCapacity
        // Locals, so that the loop keeps them in registers (see `add`).
        let patternLength = self.patternLength, partners = self.partners
        let crossFilter = self.crossFilter, filterShift = self.filterShift
        var n = 0
        var first = 0
        for x in anchors {
            let pa = Int32(truncatingIfNeeded: x & 0xFFFF_FFFF)
            let sa = Int32(truncatingIfNeeded: x >> 32)
            let ea = sa + patternLength[Int(pa)]
            let mask = partners[Int(pa)]
            while first < others.count && Int32(truncatingIfNeeded: others[first] >> 32) < sa - window { first += 1 }
            var j = first
            while j < others.count {
                let y = others[j]
                let so = Int32(truncatingIfNeeded: y >> 32)
                if so > sa + window { break }
                j += 1
                let po = Int32(truncatingIfNeeded: y & 0xFFFF_FFFF)
                let (ta, aa) = anchorsAreAnswers ? (po, pa) : (pa, po)
                let k = UInt64(UInt32(ta)) << 32 | UInt64(UInt32(aa))
                // Kept when the spans do not overlap (an occurrence is never its own partner), the
                // anchor's partner bits have the other's and the filter has the combination: all
                // three tests are computed and combined without a branch (on the arithmetic file
                // the filter lets through two in five of the combinations a window meets, at
                // random as far as a branch predictor can tell).
                let apart: UInt64 = so + patternLength[Int(po)] <= sa || so >= ea ? 1 : 0
                let partner = mask >> PairTables.partnerShift(po) & 1
                let b = PairTables.filterBit(k, filterShift)
                let filtered = crossFilter[b >> 6] >> UInt64(b & 63) & 1
                passed[n] = k
                n &+= Int(truncatingIfNeeded: apart & partner & filtered)
                if n == capacity { probeAll(n); n = 0 }
            }
        }
        probeAll(n)
    }

    /// Probes the first `n` combinations of `passed`, each slot fetched eight probes ahead.
    @inline(__always) private func probeAll(_ n: Int) {
        let passed = self.passed, cross = self.cross.baseAddress!, mask = crossMask
        for i in 0..<min(8, n) { ts_prefetch(cross + PairTables.slot(passed[i], mask)) }
        for i in 0..<n {
            if i + 8 < n { ts_prefetch(cross + PairTables.slot(passed[i + 8], mask)) }
            // The key's slot, or none (the filter lets a few combinations of no pair through).
            let k = passed[i]
            var j = PairTables.slot(k, mask)
            while true {
                let kk = cross[j].key
                if kk == k { cross[j].hits &+= 1; break }
                if kk == UInt64.max { break }
                j = (j + 1) & mask
            }
        }
    }

    /// Matches arrive by end position, so starts are almost sorted: insertion sort.
    private func sortByStart(_ o: UnsafeMutableBufferPointer<UInt64>) {
        for i in 1..<max(1, o.count) {
            let x = o[i]
            var j = i
            while j > 0 && o[j - 1] > x { o[j] = o[j - 1]; j -= 1 }
            o[j] = x
        }
    }

    /// Ends the block: each pair alias seen in it gets its word in its row of the superblock.
    private func sealBlock() {
        let w = words
        let touched = blockTouchedCount
        // Locals, so that the loop keeps them in registers (see `add`).
        let blockTouched = self.blockTouched, records = pattern.baseAddress!, rowState = self.rowState.baseAddress!
        let rows = self.rows, superblock = self.superblock, sub = self.sub
        var rowSlots = self.rowSlots
        for j in 0..<touched {
            // Both records are scattered over tables larger than the L2 cache: fetch those of
            // the alias a few steps ahead.
            if j + 8 < touched {
                let q = Int(blockTouched[j + 8])
                ts_prefetch(records + q); ts_prefetch(rowState + q)
            }
            let p = blockTouched[j]
            let b = records[Int(p)].bits
            let r = rowState + Int(p)
            if r.pointee.superblock != superblock {
                let slot = rowSlots
                rowSlots += 1
                (rows + Int(slot) * w).update(repeating: 0, count: w)
                r.pointee = RowState(superblock: superblock, slot: slot, lo: Int16(sub), hi: Int16(sub))
                superTouched.append(p)
            } else {
                r.pointee.hi = Int16(sub)
            }
            rows[Int(r.pointee.slot) * w + sub] = b
        }
        self.rowSlots = rowSlots
        blockDocs = 0
        blockTouchedCount = 0
        blockStart = doc
        self.sub += 1
        if self.sub == w { flushSuperblock() }
    }

    /// The row of pattern p in this superblock and the range of its words that may be nonzero;
    /// nil when no document of the superblock holds p.
    @inline(__always) private func bits(_ p: Int32) -> (UnsafeMutablePointer<UInt64>, Int, Int)? {
        Self.bits(p, rowState.baseAddress!, rows, words, superblock)
    }

    /// `bits(_:)` from the given fields (static, so that a loop can pass its locals).
    @inline(__always) private static func bits(_ p: Int32, _ rowState: UnsafeMutablePointer<RowState>, _ rows: UnsafeMutablePointer<UInt64>,
                                               _ words: Int, _ superblock: Int64) -> (UnsafeMutablePointer<UInt64>, Int, Int)? {
        let r = rowState[Int(p)]
        guard r.superblock == superblock else { return nil }
        return (rows + Int(r.slot) * words, Int(r.lo), Int(r.hi))
    }

    /// The OR of the rows of the aliases in row `row` of `aliases` into `out`, and the range of
    /// words set (lo > hi: none of them is in the superblock).
    @inline(__always) private func gather(_ aliases: CSR, _ row: Int, into out: UnsafeMutablePointer<UInt64>) -> (Int, Int) {
        var lo = words, hi = -1
        for k in aliases.bounds(row) {
            guard let (b, blo, bhi) = bits(aliases.list[k]) else { continue }
            if hi < lo {
                for i in blo...bhi { out[i] = b[i] }
                lo = blo; hi = bhi
                continue
            }
            if blo < lo { for i in blo..<lo { out[i] = 0 }; lo = blo }
            if bhi > hi { for i in (hi + 1)...bhi { out[i] = 0 }; hi = bhi }
            for i in blo...bhi { out[i] |= b[i] }
        }
        return (lo, hi)
    }

    /// `out[lo...hi]` = a AND b over those words; returns the documents in it. (Static, so that a
    /// caller's loop passes its local `pairBits` instead of loading the field after each store.)
    @inline(__always) private static func intersect(_ a: UnsafeMutablePointer<UInt64>, _ b: UnsafeMutablePointer<UInt64>,
                                                    into out: UnsafeMutablePointer<UInt64>, _ lo: Int, _ hi: Int) -> Int {
        var n = 0
        for i in lo...hi {
            let x = a[i] & b[i]
            out[i] = x
            n &+= x.nonzeroBitCount
        }
        return n
    }

    /// Credits the superblock's documents to every pair present in some of them, walking the side
    /// (question terms or answers) that takes fewer steps, then to their questions.
    private func flushSuperblock() {
        defer {
            superblock += 1
            stamp += 1
            if stamp == UInt32.max {
                stamp = 0
                for pid in 0..<pairState.count { pairState[pid].stamp = UInt32.max }
            }
            superTouched.removeAll(keepingCapacity: true)
            rowSlots = 0; questionSlots = 0
            sub = 0
        }
        if superTouched.isEmpty { return }
        touchedTerms.removeAll(keepingCapacity: true)
        touchedAnswers.removeAll(keepingCapacity: true)
        for p in superTouched {
            if role[Int(p)] & 1 != 0 { touchedTerms.append(p) }
            if role[Int(p)] & 2 != 0 { touchedAnswers.append(p) }
        }
        if touchedTerms.isEmpty || touchedAnswers.isEmpty { return }
        // Every pair present has an alias on each side present, so walking either side finds them
        // all. Per pattern on the walked side, scan its pairs or look up its combinations with the
        // other side's present patterns, whichever is fewer steps.
        var costTerms = 0, costAnswers = 0
        for t in touchedTerms { costTerms += min(termToPairs.count(Int(t)), touchedAnswers.count) }
        for a in touchedAnswers { costAnswers += min(answerToPairs.count(Int(a)), touchedTerms.count) }
        let fromTerms = costTerms <= costAnswers
        let side = fromTerms ? touchedTerms : touchedAnswers
        let others = fromTerms ? touchedAnswers : touchedTerms
        let index = fromTerms ? termToPairs : answerToPairs
        let onlyOther = fromTerms ? termSideOther : answerSideOther
        // Locals, so that the loop keeps them in registers (see `add`).
        let rowState = self.rowState.baseAddress!, pairState = self.pairState.baseAddress!
        let rows = self.rows, words = self.words, superblock = self.superblock, stamp = self.stamp
        let pairBits = self.pairBits
        @inline(__always) func row(_ p: Int32) -> (UnsafeMutablePointer<UInt64>, Int, Int)? { Self.bits(p, rowState, rows, words, superblock) }
        for p in side {
            if index.count(Int(p)) > others.count {
                for q in others {
                    for k in (fromTerms ? crossRange(p, q) : crossRange(q, p)) { credit(Int(crossPairs.list[k])) }
                }
                continue
            }
            let (mine, mlo, mhi) = row(p)!
            let range = index.bounds(Int(p))
            for k in range {
                // The pairs' records are scattered over a table too large for the caches: fetch
                // the one a few steps ahead.
                if k + 8 < range.upperBound {
                    let ahead = index.list[k + 8]
                    ts_prefetch(pairState + Int(ahead < 0 ? ~ahead : ahead))
                    let other = onlyOther[k + 8]
                    if other >= 0 { ts_prefetch(rowState + Int(other)) }
                }
                // Four steps ahead that alias's record is at hand: fetch its row.
                if k + 4 < range.upperBound {
                    let other = onlyOther[k + 4]
                    if other >= 0 {
                        let r = rowState[Int(other)]
                        if r.superblock == superblock { ts_prefetch(rows + Int(r.slot) * words + Int(r.lo)) }
                    }
                }
                let o = onlyOther[k]
                let e = index.list[k]
                if o >= 0 {
                    // One alias on the other side: the pair's documents are known here, unless it
                    // has several aliases on this side (then `credit` ORs them all, once).
                    guard let (theirs, olo, ohi) = row(o) else { continue }
                    if e >= 0 {
                        let lo = max(mlo, olo), hi = min(mhi, ohi)
                        if lo > hi { continue }
                        let n = Self.intersect(mine, theirs, into: pairBits, lo, hi)
                        if n == 0 { continue }
                        pairState[Int(e)].stamp = stamp
                        record(Int(e), n, lo, hi)
                        continue
                    }
                }
                credit(Int(e < 0 ? ~e : e))
            }
        }
        for qi in touchedQuestions {
            let q = questionState[Int(qi)]
            let b = questionRows + Int(q.slot) * words
            var n = 0
            for i in Int(q.lo)...Int(q.hi) { n += b[i].nonzeroBitCount }
            questionState[Int(qi)].docs += UInt64(n)
        }
        touchedQuestions.removeAll(keepingCapacity: true)
    }

    /// Credits pair `pid` (once per superblock) with the superblock's documents that hold one of
    /// its term aliases and one of its answer aliases.
    @inline(__always) private func credit(_ pid: Int) {
        if pairState[pid].stamp == stamp { return }
        pairState[pid].stamp = stamp
        let (tlo, thi) = gather(pairTerm, pid, into: sideBits)
        if tlo > thi { return }
        let (alo, ahi) = gather(pairAnswer, pid, into: otherBits)
        let lo = max(tlo, alo), hi = min(thi, ahi)
        if lo > hi { return }
        let n = Self.intersect(sideBits, otherBits, into: pairBits, lo, hi)
        if n == 0 { return }
        record(pid, n, lo, hi)
    }

    /// Adds the `n` documents of `pairBits[lo...hi]` to pair `pid`, and them to its questions.
    @inline(__always) private func record(_ pid: Int, _ n: Int, _ lo: Int, _ hi: Int) {
        pairState[pid].docs += UInt64(n)
        let q = pairState[pid].question
        if q >= 0 {
            credit(question: Int(q), lo, hi)
        } else if q == -2 {
            for k in pairQuestions.bounds(pid) { credit(question: Int(pairQuestions.list[k]), lo, hi) }
        }
    }

    @inline(__always) private func credit(question qi: Int, _ lo: Int, _ hi: Int) {
        let q = questionState.baseAddress! + qi
        if q.pointee.stamp != superblock {
            let slot = questionSlots
            questionSlots += 1
            (questionRows + Int(slot) * words).update(repeating: 0, count: words)
            q.pointee.stamp = superblock
            q.pointee.slot = slot
            q.pointee.lo = Int16(lo); q.pointee.hi = Int16(hi)
            touchedQuestions.append(Int32(qi))
        } else {
            q.pointee.lo = min(q.pointee.lo, Int16(lo))
            q.pointee.hi = max(q.pointee.hi, Int16(hi))
        }
        let b = questionRows + Int(q.pointee.slot) * words
        for i in lo...hi { b[i] |= pairBits[i] }
    }
}

/// The pass's results summed over its workers.
struct PairTotals {
    var docs: Int64 = 0
    var count: [UInt64], df: [UInt64]
    var pairDocs: [UInt64], pairWindow: [UInt64]
    var questionDocs: [UInt64], questionWindow: [UInt64]

    init(_ passes: [PairPass]) {
        let t = passes[0].tables
        count = .init(repeating: 0, count: t.patterns); df = count
        pairDocs = .init(repeating: 0, count: t.pairs); pairWindow = pairDocs
        questionDocs = .init(repeating: 0, count: t.questions); questionWindow = questionDocs
        for p in passes {
            docs += p.doc
            for i in 0..<t.patterns { count[i] += p.pattern[i].count; df[i] += p.pattern[i].df }
            for i in 0..<t.pairs { pairDocs[i] += p.pairState[i].docs }
            // Window hits were counted per (term alias, answer alias); each adds to the pairs of its row.
            for i in 0...t.crossMask where p.cross[i].hits > 0 {
                for k in t.crossPairs.bounds(Int(t.crossRow[i])) { pairWindow[Int(t.crossPairs.list[k])] += p.cross[i].hits }
            }
            for i in 0..<t.questions { questionDocs[i] += p.questionState[i].docs }
        }
        for (i, ps) in t.questionPairs.enumerated() { for pid in ps { questionWindow[i] += pairWindow[Int(pid)] } }
    }
}

/// One thread of `cooccur`'s pass: takes batches from its queue, tokenizes and matches each
/// document and credits its pair pass. After a read error it only drains the queue.
final class CooccurLane: @unchecked Sendable {
    let queue: BoundedQueue<CorpusBatch>
    let recycle: (CorpusBatch) -> Void
    let tokenizer: Tokenizer
    let matcher: TokenMatcher
    let pass: PairPass
    let tokensSeen = Atomic<Int64>(0)
    /// The end of each file whose last batch this lane took: (file index, what the reader counted).
    private(set) var ends: [(Int, FileEnd)] = []
    private(set) var error: Error?

    init(queue: BoundedQueue<CorpusBatch>, recycle: @escaping (CorpusBatch) -> Void, tokenizer: Tokenizer,
         matcher: TokenMatcher, pass: PairPass) {
        self.queue = queue; self.recycle = recycle; self.tokenizer = tokenizer
        self.matcher = matcher; self.pass = pass
    }

    func run() {
        let tokens = TokenBuffer()
        while let b = queue.pop() {
            if error != nil { continue }
            if let e = b.error { error = e; continue }
            var n: Int64 = 0
            for d in 0..<b.count {
                tokenizer.tokenize(b.text(d), into: tokens)
                n += Int64(tokens.count)
                matcher.match(tokens)
                pass.add(patterns: matcher.matchPattern, ends: matcher.matchEnd)
            }
            tokensSeen.add(n, ordering: .relaxed)
            if let end = b.endOfFile { ends.append((b.fileIndex, end)) }
            recycle(b)
        }
        pass.finish()
    }
}
