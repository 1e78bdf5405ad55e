import Matching
import CorpusIO
import Counting
import Evaluation
import Statistics
import Tokenization

#if canImport(Glibc)
import Glibc
#endif

/// What a worker found in each document of a batch (struct of arrays).
final class BatchFeatures {
    var tokens: [Int32] = []
    var hashA: [UInt64] = []
    var hashB: [UInt64] = []
    /// The first eval n-gram the document holds, or -1.
    var contam: [Int32] = []
    var signatures: [UInt32] = []
    var hasSignature: [Bool] = []
    var balanceKept: [Bool] = []
    /// The entry that kept the document, or when dropped its rarest entry (-1: no entry).
    var balanceEntry: [Int32] = []
    /// The probability that balancing keeps the document: 1 - prod(1 - p_e) over its entries.
    var balanceP: [Double] = []
    var score: [Double] = []
    /// `--keep hard|easy`: documents (batch positions) whose sampling priority was below the
    /// threshold, with their unit vectors (`Prototypes.dims` floats each) and priorities.
    var protoDocs: [Int32] = []
    var protoPriority: [Double] = []
    var protoVectors: [Float] = []
    /// With `keepIds`: every document's token ids (worker-local), document d ending at idEnds[d].
    var docIds: [UInt32] = []
    var idEnds: [Int] = []
    var worker = 0

    /// Document d's features; the signature pointer is valid inside `signatures.withUnsafeBufferPointer`.
    func features(_ d: Int, signatures sig: UnsafeBufferPointer<UInt32>, perms: Int) -> DocFeatures {
        var x = DocFeatures(tokens: Int64(tokens[d]))
        if !hashA.isEmpty { x.hashA = hashA[d]; x.hashB = hashB[d] }
        if !contam.isEmpty { x.contam = contam[d] }
        if !hasSignature.isEmpty && hasSignature[d] { x.signature = sig.baseAddress! + d * perms }
        if !balanceKept.isEmpty { x.balanceKept = balanceKept[d]; x.balanceEntry = balanceEntry[d]; x.balanceP = balanceP[d] }
        if !score.isEmpty { x.score = score[d] }
        return x
    }
}

/// Per-thread state: tokenizer, a vocabulary that counts every token seen (for the types and
/// hapax of the summary), and per-type caches so that each distinct token is hashed and looked
/// up in the pattern and index vocabularies once.
final class PruneWorker {
    let ctx: PruneContext
    let tokenizer: Tokenizer
    let buf = TokenBuffer()
    let vocab = Vocabulary()
    var tokensSeen: Int64 = 0
    private var h1: [UInt64] = []
    private var h2: [UInt64] = []
    private var contamTok: [Int32] = []
    private var entryTok: [Int32] = []
    private var indexTok: [Int32] = []
    private var isStop: [Bool] = []
    /// `--keep hard|easy`: each type's hashed TF-IDF bucket and signed idf weight (0 for stopwords).
    private var protoBucket: [Int32] = []
    private var protoWeight: [Float] = []
    private let usesPrototypes: Bool
    private var seen: [UInt32] = []
    private var seenStamp: UInt32 = 0
    private var entrySeen: [UInt32] = []
    private var entryStamp: UInt32 = 0
    private var ids: [UInt32] = []
    private var mapped: [Int32] = []
    private var hashes: [UInt64] = []
    private var counts: [UInt64] = []
    private let entryMatcher: TokenMatcher?
    private let minhasher: MinHasher?

    let keepIds: Bool

    init(_ ctx: PruneContext, keepIds: Bool) {
        self.ctx = ctx
        self.keepIds = keepIds
        tokenizer = Tokenizer(config: ctx.tokenizerConfig)
        entryMatcher = ctx.entryAutomaton.map { TokenMatcher($0, tokens: ctx.entryVocab!.count) }
        minhasher = ctx.minhash.map { MinHasher($0) }
        let entries = ctx.entryAutomaton != nil ? ctx.entryCount.count : ctx.indexCount.count
        entrySeen = [UInt32](repeating: 0, count: entries)
        usesPrototypes = ctx.o.keep?.usesPrototypes ?? false
    }

    /// Fills the per-type caches for ids the vocabulary added since the last call.
    private func growCaches() {
        let n = vocab.count
        guard h1.count < n else { return }
        for id in h1.count..<n {
            let t = vocab.token(UInt32(id))
            h1.append(hashBytes64(t, seed: 0x243F_6A88_85A3_08D3))
            h2.append(hashBytes64(t, seed: 0x1319_8A2E_0370_7344))
            if let v = ctx.contamVocab { contamTok.append(v.lookup(t).map { Int32($0) } ?? -1) }
            if let v = ctx.entryVocab { entryTok.append(v.lookup(t).map { Int32($0) } ?? -1) }
            if let v = ctx.indexVocab { indexTok.append(v.lookup(t).map { Int32($0) } ?? -1) }
            let stop = ctx.stopVocab.lookup(t) != nil
            isStop.append(stop)
            seen.append(0)
            if usesPrototypes {
                let h = h1[id]
                protoBucket.append(Int32(truncatingIfNeeded: (h >> 32) & UInt64(Prototypes.dims - 1)))
                let df = indexTok[id] >= 0 ? ctx.indexDf[Int(indexTok[id])] : 0
                let w = stop ? 0 : prototypeIdf(df: df, docs: ctx.indexDocs)
                protoWeight.append(h >> 63 == 0 ? w : -w)
            }
        }
    }

    /// Tokenizes and counts document `doc`; returns its token count (ids in `ids`).
    @inline(__always) private func load(_ text: UnsafeRawBufferPointer, doc: Int64) -> Int {
        tokenizer.tokenize(text, into: buf)
        let n = buf.count
        if ids.count < n { ids = [UInt32](repeating: 0, count: max(n, ids.count * 2)) }
        ids.withUnsafeMutableBufferPointer { p in
            vocab.countTokens(buf.bytes, ends: buf.ends, count: n, readable: buf.readableBytes, doc: UInt64(doc),
                              ids: p.baseAddress)
        }
        tokensSeen += Int64(n)
        growCaches()
        return n
    }

    /// Counts the tokens of the documents of `b` selected by `keep` (the final pass).
    func count(_ b: CorpusBatch, keep: (Int64) -> Bool) {
        for d in 0..<b.count where keep(b.firstDoc + Int64(d)) {
            _ = load(b.text(d), doc: b.firstDoc + Int64(d))
        }
    }

    /// Token counts of the kept documents, by this worker's token id (`prune --apply`).
    private(set) var keptCounts: [UInt64] = []

    /// Counts every document of `b`, and separately those `kept` selects (`prune --apply`).
    func countAll(_ b: CorpusBatch, kept: (Int) -> Bool) {
        for d in 0..<b.count {
            let n = load(b.text(d), doc: b.firstDoc + Int64(d))
            guard kept(d) else { continue }
            if keptCounts.count < vocab.count { keptCounts.append(contentsOf: repeatElement(0, count: vocab.count - keptCounts.count)) }
            for i in 0..<n { keptCounts[Int(ids[i])] += 1 }
        }
    }

    /// `source` is the position of the batch's file among all inputs: with each document's
    /// position in its file it keys the seeded draws, so they do not depend on sharding.
    func analyze(_ b: CorpusBatch, source: Int) -> BatchFeatures {
        let o = ctx.o
        let f = BatchFeatures()
        let m = b.count
        f.tokens.reserveCapacity(m)
        let perms = ctx.minhash?.perms ?? 0
        if perms > 0 { f.signatures = [UInt32](repeating: 0, count: m * perms) }
        for d in 0..<m {
            let doc = b.firstDoc + Int64(d)
            let key = documentKey(source: source, position: b.positions[d])
            let n = load(b.text(d), doc: doc)
            f.tokens.append(Int32(clamping: n))
            if keepIds {
                f.docIds.append(contentsOf: ids[0..<n])
                f.idEnds.append(f.docIds.count)
            }
            ids.withUnsafeBufferPointer { ids in
                if o.dedupExact {
                    // 128 bits over the normalized token sequence (two independent 64-bit lanes).
                    var a: UInt64 = 0x6A09_E667_F3BC_C908 ^ UInt64(n)
                    var c: UInt64 = 0xBB67_AE85_84CA_A73B &+ UInt64(n)
                    for i in 0..<n {
                        let id = Int(ids[i])
                        a = mix64(a ^ h1[id]) &+ 0x9E37_79B9_7F4A_7C15
                        c = (c ^ h2[id]) &* 0xFF51_AFD7_ED55_8CCD
                        c = (c << 27 | c >> 37) &+ 0x52DC_E729
                    }
                    f.hashA.append(a)
                    f.hashB.append(mix64(c))
                }
                if let set = ctx.contamSet {
                    mapIds(ids, n, contamTok)
                    f.contam.append(mapped.withUnsafeBufferPointer { set.first(in: $0.baseAddress!, count: n) })
                }
                if let mh = minhasher {
                    if hashes.count < n { hashes = [UInt64](repeating: 0, count: max(n, hashes.count * 2)) }
                    hashes.withUnsafeMutableBufferPointer { h in
                        for i in 0..<n { h[i] = h1[Int(ids[i])] }
                    }
                    let ok = hashes.withUnsafeBufferPointer { h in
                        f.signatures.withUnsafeMutableBufferPointer { s in
                            mh.signature(h.baseAddress!, n, into: s.baseAddress! + d * perms)
                        }
                    }
                    f.hasSignature.append(ok)
                }
                if let t = o.balance { balance(ids, n, key: key, threshold: t, into: f) }
                if let k = o.keep {
                    if !k.usesPrototypes {
                        f.score.append(tailScore(ids, n))
                    } else {
                        let u = prototypePriority(seed: o.seed, key: key)
                        if u < Double(bitPattern: ctx.sampleThreshold.load(ordering: .relaxed)) {
                            let at = f.protoVectors.count
                            f.protoVectors.append(contentsOf: repeatElement(0, count: Prototypes.dims))
                            let ok = f.protoVectors.withUnsafeMutableBufferPointer { prototypeVector(ids, n, into: $0.baseAddress! + at) }
                            if ok {
                                f.protoDocs.append(Int32(d))
                                f.protoPriority.append(u)
                            } else {
                                f.protoVectors.removeLast(Prototypes.dims)
                            }
                        }
                    }
                }
            }
        }
        return f
    }

    /// The unit hashed TF-IDF vector of a document into `v` (`Prototypes.dims` zeroed floats):
    /// each occurrence of a content term adds its signed idf to its bucket. False when the
    /// document has no content term (the vector stays zero).
    private func prototypeVector(_ ids: UnsafeBufferPointer<UInt32>, _ n: Int, into v: UnsafeMutablePointer<Float>) -> Bool {
        protoBucket.withUnsafeBufferPointer { bucket in
            protoWeight.withUnsafeBufferPointer { weight in
                for i in 0..<n {
                    let id = Int(ids[i])
                    v[Int(bucket[id])] += weight[id]
                }
            }
        }
        var s: Float = 0
        for j in 0..<Prototypes.dims { s += v[j] * v[j] }
        guard s > 0 else { return false }
        let inv = 1 / s.squareRoot()
        for j in 0..<Prototypes.dims { v[j] *= inv }
        return true
    }

    /// `--keep hard|easy`, the scoring pass: the cosine distance of each selected document of
    /// `b` to its nearest prototype (NaN without content terms), as (batch position, score).
    func prototypeScores(_ b: CorpusBatch, _ model: SphericalKMeans, select: (Int64) -> Bool) -> [(Int32, Float)] {
        let dims = Prototypes.dims
        let chunk = 256
        var out: [(Int32, Float)] = []
        var rows: [Int32] = []
        var x = [Float](repeating: 0, count: chunk * dims)
        var scratch = [Float](repeating: 0, count: chunk * model.k)
        var best = [Float](repeating: 0, count: chunk)
        var cluster = [Int32](repeating: 0, count: chunk)
        func flush() {
            x.withUnsafeBufferPointer { xp in
                model.nearest(xp.baseAddress!, count: rows.count, scratch: &scratch, best: &best, cluster: &cluster)
            }
            for (i, r) in rows.enumerated() { out.append((r, 1 - best[i])) }
            rows.removeAll(keepingCapacity: true)
        }
        for d in 0..<b.count where select(b.firstDoc + Int64(d)) {
            let n = load(b.text(d), doc: b.firstDoc + Int64(d))
            let at = rows.count * dims
            for j in 0..<dims { x[at + j] = 0 }
            let ok = ids.withUnsafeBufferPointer { ids in
                x.withUnsafeMutableBufferPointer { prototypeVector(ids, n, into: $0.baseAddress! + at) }
            }
            if !ok { out.append((Int32(d), .nan)); continue }
            rows.append(Int32(d))
            if rows.count == chunk { flush() }
        }
        if !rows.isEmpty { flush() }
        return out
    }

    private func mapIds(_ ids: UnsafeBufferPointer<UInt32>, _ n: Int, _ table: [Int32]) {
        if mapped.count < n { mapped = [Int32](repeating: 0, count: max(n, mapped.count * 2)) }
        mapped.withUnsafeMutableBufferPointer { out in
            table.withUnsafeBufferPointer { t in
                for i in 0..<n { out[i] = t[Int(ids[i])] }
            }
        }
    }

    /// MetaCLIP balancing: each distinct entry e of the document is kept with probability
    /// min(1, T / c_e), by a draw that depends only on (seed, document key, entry); the document is
    /// kept when any of its entries is.
    private func balance(_ ids: UnsafeBufferPointer<UInt32>, _ n: Int, key: UInt64, threshold t: Double, into f: BatchFeatures) {
        entryStamp &+= 1
        if entryStamp == 0 { for i in entrySeen.indices { entrySeen[i] = 0 }; entryStamp = 1 }
        var kept = false
        var keptBy: Int32 = -1
        var rarest: Int32 = -1
        var rarestC = UInt64.max
        var logMiss = 0.0
        var certain = false
        func visit(_ e: Int32) {
            if entrySeen[Int(e)] == entryStamp { return }
            entrySeen[Int(e)] = entryStamp
            let c = ctx.entryC(e)
            let p = c == 0 ? 1.0 : min(1.0, t / Double(c))
            if p >= 1 { certain = true } else { logMiss += log1p(-p) }
            if c < rarestC { rarestC = c; rarest = e }
            if !kept && uniform(seed: ctx.o.seed, key, UInt64(e)) < p { kept = true; keptBy = e }
        }
        if let matcher = entryMatcher {
            mapIds(ids, n, entryTok)
            mapped.withUnsafeBufferPointer { matcher.match(ids: $0.baseAddress!, count: n) }
            for e in matcher.matchPattern { visit(e) }
        } else {
            for i in 0..<n {
                let e = indexTok[Int(ids[i])]
                if e >= 0 { visit(e) }
            }
        }
        f.balanceKept.append(kept)
        f.balanceEntry.append(kept ? keptBy : rarest)
        f.balanceP.append(rarest < 0 ? 0 : (certain ? 1 : -expm1(logMiss)))
    }

    /// The mean of log10(1 + c) over the document's `rarestK` rarest distinct content terms,
    /// with c the term's count in the index (0 when the index does not hold it); NaN when the
    /// document has no content term.
    private func tailScore(_ ids: UnsafeBufferPointer<UInt32>, _ n: Int) -> Double {
        seenStamp &+= 1
        if seenStamp == 0 { for i in seen.indices { seen[i] = 0 }; seenStamp = 1 }
        counts.removeAll(keepingCapacity: true)
        for i in 0..<n {
            let id = Int(ids[i])
            if isStop[id] || seen[id] == seenStamp { continue }
            seen[id] = seenStamp
            let x = indexTok[id]
            counts.append(x >= 0 ? ctx.indexCount[Int(x)] : 0)
        }
        if counts.isEmpty { return .nan }
        let k = min(ctx.o.rarestK, counts.count)
        // Partial selection of the k smallest.
        for i in 0..<k {
            var best = i
            for j in (i + 1)..<counts.count where counts[j] < counts[best] { best = j }
            counts.swapAt(i, best)
        }
        var s = 0.0
        for i in 0..<k { s += log10(1 + Double(counts[i])) }
        return s / Double(k)
    }
}

/// Smoothed inverse document frequency, as scikit-learn's TfidfVectorizer computes it:
/// ln((1 + N) / (1 + df)) + 1.
@inline(__always) func prototypeIdf(df: UInt64, docs: Int64) -> Float {
    Float(log((1 + Double(docs)) / (1 + Double(df))) + 1)
}

/// The sampling priority of a document for `--keep hard|easy`: the k-means sample is the k
/// documents with the smallest priority among those the other steps keep.
@inline(__always) func prototypePriority(seed: UInt64, key: UInt64) -> Double {
    uniform(seed: seed ^ 0x5052_4F54_4F54_5950, key, 0x7072_6F74)
}
