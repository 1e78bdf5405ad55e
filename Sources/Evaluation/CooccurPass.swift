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
    /// Per pair: its only question-term alias and only answer alias (-1 where there are several).
    let pairOnly: UnsafeMutableBufferPointer<(Int32, Int32)>
    /// The distinct pairs of each question.
    let questionPairs: [[Int32]]
    let crossKeys: UnsafeMutableBufferPointer<UInt64>
    let crossRow: UnsafeMutableBufferPointer<Int32>
    let crossPairs: CSR
    let crossMask: Int

    init(patternLength lengths: [Int32], pairTerm pt: [[Int32]], pairAnswer pa: [[Int32]], questionPairs: [[Int32]]) {
        patterns = lengths.count
        pairs = pt.count
        questions = questionPairs.count
        patternLength = filledBuffer(patterns, 0)
        for (i, l) in lengths.enumerated() { patternLength[i] = l }
        var tp = [[Int32]](repeating: [], count: patterns), ap = [[Int32]](repeating: [], count: patterns)
        var cross: [UInt64: [Int32]] = [:]
        for pid in 0..<pairs {
            let ts = Array(Set(pt[pid])).sorted(), asx = Array(Set(pa[pid])).sorted()
            for t in ts { tp[Int(t)].append(Int32(pid)) }
            for a in asx { ap[Int(a)].append(Int32(pid)) }
            for t in ts { for a in asx { cross[UInt64(UInt32(t)) << 32 | UInt64(UInt32(a)), default: []].append(Int32(pid)) } }
        }
        let pts = pt.map { Array(Set($0)).sorted() }, pas = pa.map { Array(Set($0)).sorted() }
        pairTerm = CSR(pts); pairAnswer = CSR(pas)
        pairOnly = filledBuffer(pairs, (Int32(-1), Int32(-1)))
        for pid in 0..<pairs { pairOnly[pid] = (pts[pid].count == 1 ? pts[pid][0] : -1, pas[pid].count == 1 ? pas[pid][0] : -1) }
        func side(_ rows: [[Int32]], _ mine: [[Int32]], _ others: [[Int32]]) -> (CSR, UnsafeMutableBufferPointer<Int32>) {
            let marked = rows.map { $0.map { mine[Int($0)].count > 1 ? ~$0 : $0 } }
            let csr = CSR(marked)
            let other = filledBuffer(max(1, Int(csr.start[rows.count])), Int32(-1))
            var k = 0
            for r in rows { for pid in r { if others[Int(pid)].count == 1 { other[k] = others[Int(pid)][0] }; k += 1 } }
            return (csr, other)
        }
        (termToPairs, termSideOther) = side(tp, pts, pas)
        (answerToPairs, answerSideOther) = side(ap, pas, pts)
        self.questionPairs = questionPairs.map { Array(Set($0)).sorted() }
        var qp = [[Int32]](repeating: [], count: pairs)
        for (qi, ps) in self.questionPairs.enumerated() { for pid in ps { qp[Int(pid)].append(Int32(qi)) } }
        pairQuestions = CSR(qp)
        var cap = 16
        while cap < cross.count * 2 { cap <<= 1 }
        crossMask = cap - 1
        crossKeys = filledBuffer(cap, UInt64.max)
        crossRow = filledBuffer(cap, 0)
        var rows: [[Int32]] = []
        rows.reserveCapacity(cross.count)
        for (k, ps) in cross {
            var i = TokenAutomaton.slot(k, crossMask)
            while crossKeys[i] != UInt64.max { i = (i + 1) & crossMask }
            crossKeys[i] = k; crossRow[i] = Int32(rows.count)
            rows.append(ps)
        }
        crossPairs = CSR(rows)
    }

    deinit {
        patternLength.deallocate(); termSideOther.deallocate(); answerSideOther.deallocate(); pairOnly.deallocate()
        for c in [termToPairs, answerToPairs, pairTerm, pairAnswer, pairQuestions, crossPairs] { c.deallocate() }
        crossKeys.deallocate(); crossRow.deallocate()
    }
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
    let pairOnly: UnsafeMutableBufferPointer<(Int32, Int32)>
    let pairQuestions: CSR
    let crossKeys: UnsafeMutableBufferPointer<UInt64>
    let crossRow: UnsafeMutableBufferPointer<Int32>
    let crossPairs: CSR
    let crossMask: Int

    // Results.
    let count: UnsafeMutableBufferPointer<UInt64>
    let df: UnsafeMutableBufferPointer<UInt64>
    /// Per pair: the last document it was credited in, its documents and window hits (one record,
    /// so crediting touches one cache line). Per question: the same without window hits, which are
    /// the sum over its pairs (`PairTotals`).
    struct PairState { var stamp: Int64 = -1; var docs: UInt64 = 0; var window: UInt64 = 0 }
    struct QuestionState { var stamp: Int64 = -1; var docs: UInt64 = 0 }
    let pairState: UnsafeMutableBufferPointer<PairState>
    let questionState: UnsafeMutableBufferPointer<QuestionState>

    // Per-document scratch: the document number each pattern/pair/question was last seen in,
    // occurrence counts and starts of this document's patterns (grouped by pattern, ascending).
    let lastDoc: UnsafeMutableBufferPointer<Int64>
    let occCount: UnsafeMutableBufferPointer<Int32>
    let occOffset: UnsafeMutableBufferPointer<Int32>
    var occ: [Int32] = []
    var touched: [Int32] = []
    var touchedTerms: [Int32] = []
    var touchedAnswers: [Int32] = []
    /// Documents seen by this worker.
    var doc: Int64 = 0

    init(_ t: PairTables, window: Int) {
        tables = t
        self.window = Int32(window)
        patternLength = t.patternLength
        termToPairs = t.termToPairs; answerToPairs = t.answerToPairs
        termSideOther = t.termSideOther; answerSideOther = t.answerSideOther; pairOnly = t.pairOnly
        pairTerm = t.pairTerm; pairAnswer = t.pairAnswer; pairQuestions = t.pairQuestions
        crossKeys = t.crossKeys; crossRow = t.crossRow; crossPairs = t.crossPairs; crossMask = t.crossMask
        count = filledBuffer(t.patterns, 0); df = filledBuffer(t.patterns, 0)
        pairState = filledBuffer(t.pairs, PairState()); questionState = filledBuffer(t.questions, QuestionState())
        lastDoc = filledBuffer(t.patterns, -1)
        occCount = filledBuffer(t.patterns, 0); occOffset = filledBuffer(t.patterns, 0)
    }

    deinit {
        count.deallocate(); df.deallocate(); pairState.deallocate(); questionState.deallocate()
        lastDoc.deallocate()
        occCount.deallocate(); occOffset.deallocate()
    }

    /// The pairs whose term alias is `t` and answer alias is `a` (empty when none).
    @inline(__always) func crossRange(_ t: Int32, _ a: Int32) -> Range<Int> {
        let k = UInt64(UInt32(t)) << 32 | UInt64(UInt32(a))
        var i = TokenAutomaton.slot(k, crossMask)
        while true {
            let kk = crossKeys[i]
            if kk == k { return crossPairs.bounds(Int(crossRow[i])) }
            if kk == UInt64.max { return 0..<0 }
            i = (i + 1) & crossMask
        }
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
    }

    /// Counts one document from its matches (pattern, end token position; ends ascending).
    func add(patterns matchPattern: UnsafeBufferPointer<Int32>, ends matchEnd: UnsafeBufferPointer<Int32>) {
        defer { doc += 1 }
        if matchPattern.isEmpty { return }
        // Group occurrence starts by pattern (a counting sort keeps each pattern's starts ascending).
        for p in matchPattern {
            let pi = Int(p)
            if lastDoc[pi] != doc {
                lastDoc[pi] = doc; occCount[pi] = 0; touched.append(p)
                df[pi] += 1
            }
            occCount[pi] += 1
        }
        var off: Int32 = 0
        for p in touched {
            let pi = Int(p)
            occOffset[pi] = off
            off += occCount[pi]
            count[pi] += UInt64(occCount[pi])
            occCount[pi] = 0
        }
        if occ.count < Int(off) { occ = [Int32](repeating: 0, count: Int(off) * 2) }
        occ.withUnsafeMutableBufferPointer { occ in
            for k in 0..<matchPattern.count {
                let pi = Int(matchPattern[k])
                occ[Int(occOffset[pi] + occCount[pi])] = matchEnd[k] - patternLength[pi] + 1
                occCount[pi] += 1
            }
            countPairs(UnsafeBufferPointer(occ))
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// Visits every pair present in the document, walking the side (question terms or answers)
    /// that takes fewer steps.
    private func countPairs(_ occ: UnsafeBufferPointer<Int32>) {
        touchedTerms.removeAll(keepingCapacity: true)
        touchedAnswers.removeAll(keepingCapacity: true)
        for p in touched {
            if termToPairs.count(Int(p)) > 0 { touchedTerms.append(p) }
            if answerToPairs.count(Int(p)) > 0 { touchedAnswers.append(p) }
        }
        if touchedTerms.isEmpty || touchedAnswers.isEmpty { return }
        // Every pair present has an alias on each side present, so walking either side finds them
        // all. Per pattern on the walked side, scan its pairs (checking the other side) or look up
        // its combinations with the other side's present patterns, whichever is fewer steps.
        var costTerms = 0, costAnswers = 0
        for t in touchedTerms { costTerms += min(termToPairs.count(Int(t)), touchedAnswers.count) }
        for a in touchedAnswers { costAnswers += min(answerToPairs.count(Int(a)), touchedTerms.count) }
        let fromTerms = costTerms <= costAnswers
        let side = fromTerms ? touchedTerms : touchedAnswers
        let others = fromTerms ? touchedAnswers : touchedTerms
        let index = fromTerms ? termToPairs : answerToPairs
        let other = fromTerms ? pairAnswer : pairTerm
        let onlyOther = fromTerms ? termSideOther : answerSideOther
        for p in side {
            if index.count(Int(p)) > others.count {
                for q in others {
                    for k in (fromTerms ? crossRange(p, q) : crossRange(q, p)) {
                        let pid = Int(crossPairs.list[k])
                        if pairState[pid].stamp != doc { credit(pid, occ) }
                    }
                }
                continue
            }
            for k in index.bounds(Int(p)) {
                let o = onlyOther[k]
                if o >= 0 && lastDoc[Int(o)] != doc { continue }
                let e = index.list[k]
                let pid = Int(e < 0 ? ~e : e)
                if o < 0 {
                    var present = false
                    for j in other.bounds(pid) where lastDoc[Int(other.list[j])] == doc { present = true; break }
                    if !present { continue }
                }
                if e < 0 && pairState[pid].stamp == doc { continue }
                credit(pid, occ)
            }
        }
    }

    /// Credits a pair present in this document (and its questions) with a document and its window hits.
    @inline(__always) private func credit(_ pid: Int, _ occ: UnsafeBufferPointer<Int32>) {
        var h: UInt64 = 0
        let (t1, a1) = pairOnly[pid]
        if t1 >= 0 && a1 >= 0 {
            h = windowHits(slice(occ, Int(t1)), patternLength[Int(t1)], slice(occ, Int(a1)), patternLength[Int(a1)], window)
        } else {
            for i in pairTerm.bounds(pid) {
                let qp = Int(pairTerm.list[i])
                if lastDoc[qp] != doc { continue }
                for j in pairAnswer.bounds(pid) {
                    let ap = Int(pairAnswer.list[j])
                    if lastDoc[ap] != doc { continue }
                    h += windowHits(slice(occ, qp), patternLength[qp], slice(occ, ap), patternLength[ap], window)
                }
            }
        }
        pairState[pid].stamp = doc
        pairState[pid].docs += 1
        pairState[pid].window += h
        for k in pairQuestions.bounds(pid) {
            let qi = Int(pairQuestions.list[k])
            if questionState[qi].stamp != doc { questionState[qi].stamp = doc; questionState[qi].docs += 1 }
        }
    }

    @inline(__always) private func slice(_ occ: UnsafeBufferPointer<Int32>, _ p: Int) -> UnsafeBufferPointer<Int32> {
        UnsafeBufferPointer(rebasing: occ[Int(occOffset[p]) ..< Int(occOffset[p] + occCount[p])])
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
            for i in 0..<t.patterns { count[i] += p.count[i]; df[i] += p.df[i] }
            for i in 0..<t.pairs { pairDocs[i] += p.pairState[i].docs; pairWindow[i] += p.pairState[i].window }
            for i in 0..<t.questions { questionDocs[i] += p.questionState[i].docs }
        }
        for (i, ps) in t.questionPairs.enumerated() { for pid in ps { questionWindow[i] += pairWindow[Int(pid)] } }
    }
}

/// Pairs of occurrences of two terms, not overlapping, whose starts are at most `w` tokens apart.
/// The count is symmetric, so the shorter start list drives; both are ascending, so the first start
/// of the other list in reach only moves forward (found by a linear walk, or by binary search when
/// the other list is much longer), and the few starts in reach are checked one by one.
func windowHits(_ a0: UnsafeBufferPointer<Int32>, _ la0: Int32, _ b0: UnsafeBufferPointer<Int32>, _ lb0: Int32, _ w: Int32) -> UInt64 {
    let swap = a0.count > b0.count
    let a = swap ? b0 : a0, b = swap ? a0 : b0
    let la = swap ? lb0 : la0, lb = swap ? la0 : lb0
    let gallop = b.count > 8 * a.count
    var h = 0
    var j = 0
    for s in a {
        let lo = s - w
        if gallop {
            var hi = b.count
            while j < hi { let m = (j + hi) >> 1; if b[m] < lo { j = m + 1 } else { hi = m } }
        } else {
            while j < b.count && b[j] < lo { j += 1 }
        }
        var k = j
        while k < b.count {
            let t = b[k]
            if t > s + w { break }
            // Not overlapping: [t, t + lb) ends before s, or starts at or after s + la.
            if t + lb <= s || t >= s + la { h += 1 }
            k += 1
        }
    }
    return UInt64(h)
}
