import Counting
import Tokenization

/// Token-level Aho-Corasick automaton: patterns are sequences of token ids, so matches respect
/// token boundaries by construction, and one pass finds every occurrence of every pattern.
package struct TokenAutomaton {
    var next: [UInt64: Int32] = [:]     // (node << 32 | token) -> node
    var fail: [Int32] = [0]
    var outputs: [[Int32]] = [[]]       // patterns ending at a node (including via suffix links)
    var depth: [Int32] = [0]
    /// The states other than the root in breadth-first order: each after its failure state.
    var breadthFirst: [Int32] = []

    package init(patterns: [[UInt32]]) {
        var own: [[Int32]] = [[]]
        for (p, toks) in patterns.enumerated() {
            var node: Int32 = 0
            for t in toks {
                let key = UInt64(UInt32(node)) << 32 | UInt64(t)
                if let n = next[key] { node = n; continue }
                let n = Int32(fail.count)
                fail.append(0); own.append([]); depth.append(depth[Int(node)] + 1)
                next[key] = n
                node = n
            }
            own[Int(node)].append(Int32(p))
        }
        // Breadth-first failure links.
        var children = [[(UInt32, Int32)]](repeating: [], count: fail.count)
        for (key, child) in next { children[Int(key >> 32)].append((UInt32(truncatingIfNeeded: key), child)) }
        outputs = own
        var queue: [Int32] = children[0].map(\.1)
        var head = 0
        while head < queue.count {
            let u = queue[head]; head += 1
            for (tok, v) in children[Int(u)] {
                if u != 0 {
                    var f = fail[Int(u)]
                    while f != 0 && next[UInt64(UInt32(f)) << 32 | UInt64(tok)] == nil { f = fail[Int(f)] }
                    fail[Int(v)] = next[UInt64(UInt32(f)) << 32 | UInt64(tok)] ?? 0
                }
                outputs[Int(v)] += outputs[Int(fail[Int(v)])]
                queue.append(v)
            }
        }
        breadthFirst = queue
    }

    @inlinable @inline(__always) package static func slot(_ k: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }
}

/// The automaton frozen into flat buffers for the hot loop (no reference counting per token):
/// a dense array of the root's transitions (most steps start there) and open addressing with a
/// multiplicative hash for deeper nodes.
package final class TokenMatcher {
    let rootNext: UnsafeMutableBufferPointer<Int32>
    let keys: UnsafeMutableBufferPointer<UInt64>
    let values: UnsafeMutableBufferPointer<Int32>
    /// Per node (and one past the last): what a step and the outputs read, in one 16-byte record.
    struct Node {
        /// Bit `t & 63` is set for every token t the node has a transition on (0 for leaves), so
        /// most states without a transition on a token are passed over without a hash probe.
        var childBits: UInt64
        var fail: Int32
        /// The node's outputs are `outList[outStart ..< next node's outStart]`.
        var outStart: Int32
    }
    let nodes: UnsafeMutableBufferPointer<Node>
    /// Per node: the `childBits` of the node and of every state on its failure chain (0 for the
    /// root). When a token's bit is clear, no state the step would visit has a transition on it,
    /// so the step ends at the root's transition without loading those states: in `match(_:)` a
    /// step from a state other than the root loads one word and takes a rarely taken branch.
    let chainBits: UnsafeMutableBufferPointer<UInt64>
    let outList: UnsafeMutableBufferPointer<Int32>
    let mask: Int
    /// Matches of the last document: (pattern, end position); valid until the next match.
    package var matchPattern: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: patterns, count: matches) }
    package var matchEnd: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: ends, count: matches) }
    private var patterns: UnsafeMutablePointer<Int32>
    private var ends: UnsafeMutablePointer<Int32>
    private var capacity = 1024
    private var matches = 0
    /// The most patterns that end in one state (a document of n tokens has at most n times this
    /// many matches).
    private let maxOutputs: Int

    /// Token bytes -> ids and root transitions, for `match(_:)` (nil: the matcher takes ids).
    private let table: TokenTable?
    /// Lookups staged ahead (`match(_:)`): a ring of 2 * `ahead`.
    private let probes: UnsafeMutablePointer<TokenTable.Probe>
    private static let ahead = 16
    /// The read-only buffers above (all but the matches and the probes), freed with the last
    /// matcher that shares them.
    private let shared: SharedBuffers

    private final class SharedBuffers {
        let pointers: [UnsafeMutableRawPointer]
        let table: TokenTable?
        init(_ pointers: [UnsafeMutableRawPointer], _ table: TokenTable?) { self.pointers = pointers; self.table = table }
        deinit {
            table?.deallocate()
            for p in pointers { p.deallocate() }
        }
    }

    /// A matcher of its own (its matches, its staged lookups) that reads `other`'s tables: the
    /// workers of a pass build the tables once.
    package init(sharingTablesOf other: TokenMatcher) {
        rootNext = other.rootNext; keys = other.keys; values = other.values
        nodes = other.nodes; chainBits = other.chainBits; outList = other.outList
        mask = other.mask; maxOutputs = other.maxOutputs
        table = other.table
        shared = other.shared
        patterns = .allocate(capacity: capacity)
        ends = .allocate(capacity: capacity)
        probes = .allocate(capacity: 2 * Self.ahead)
    }

    /// A matcher of tokenized text: `vocabulary` holds every token of the patterns (their ids).
    package convenience init(_ a: TokenAutomaton, vocabulary v: Vocabulary) {
        self.init(a, tokens: v.count, tokenBytes: (0..<v.count).map { Array(v.token(UInt32($0))) })
    }

    /// `tokens`: the number of token ids (the root's table is dense over them); `tokenBytes`:
    /// each id's bytes, when the matcher is to read tokenized text (`match(_:)`).
    package init(_ a: TokenAutomaton, tokens: Int, tokenBytes: [[UInt8]]? = nil) {
        func copy<T>(_ x: [T]) -> UnsafeMutableBufferPointer<T> {
            let p = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, x.count))
            _ = p.initialize(from: x)
            return p
        }
        var root = [Int32](repeating: 0, count: tokens)
        var cap = 16
        while cap < a.next.count * 2 { cap <<= 1 }
        let m = cap - 1
        var ks = [UInt64](repeating: UInt64.max, count: cap), vs = [Int32](repeating: 0, count: cap)
        var bits = [UInt64](repeating: 0, count: a.fail.count + 1)
        for (k, v) in a.next {
            if k >> 32 == 0 { root[Int(k & 0xFFFF_FFFF)] = v; continue }
            bits[Int(k >> 32)] |= 1 << (k & 63)
            var i = TokenAutomaton.slot(k, m)
            while ks[i] != UInt64.max { i = (i + 1) & m }
            ks[i] = k; vs[i] = v
        }
        rootNext = copy(root); keys = copy(ks); values = copy(vs)
        var starts: [Int32] = [0], list: [Int32] = []
        for o in a.outputs { list += o; starts.append(Int32(list.count)) }
        outList = copy(list)
        nodes = copy((0..<starts.count).map { k in
            Node(childBits: bits[k], fail: k < a.fail.count ? a.fail[k] : 0, outStart: starts[k])
        })
        // Each state's from its failure state's, done before it (as the automaton gathers its
        // outputs); the root's is 0.
        var chain = [UInt64](repeating: 0, count: bits.count)
        for v in a.breadthFirst { chain[Int(v)] = bits[Int(v)] | chain[Int(a.fail[Int(v)])] }
        chainBits = copy(chain)
        mask = m
        var most = 1
        for k in 0..<(starts.count - 1) { most = max(most, Int(starts[k + 1] - starts[k])) }
        maxOutputs = most
        patterns = .allocate(capacity: capacity)
        ends = .allocate(capacity: capacity)
        probes = .allocate(capacity: 2 * Self.ahead)
        if let tokenBytes {
            precondition(tokenBytes.count == tokens, "one byte string per token id")
            var deep = [Bool](repeating: false, count: tokens)
            for k in a.next.keys where k >> 32 != 0 { deep[Int(k & 0xFFFF_FFFF)] = true }
            // The only pattern of the token's state from the root, -1 when it has none, -2 when several.
            let out = root.map { r -> Int32 in
                let o = r == 0 ? [] : a.outputs[Int(r)]
                return o.count == 1 ? o[0] : o.isEmpty ? -1 : -2
            }
            table = TokenTable(tokens: tokenBytes, root: root, out: out, deep: deep)
        } else {
            table = nil
        }
        shared = SharedBuffers([UnsafeMutableRawPointer(rootNext.baseAddress!), UnsafeMutableRawPointer(keys.baseAddress!),
                                UnsafeMutableRawPointer(values.baseAddress!), UnsafeMutableRawPointer(nodes.baseAddress!),
                                UnsafeMutableRawPointer(outList.baseAddress!), UnsafeMutableRawPointer(chainBits.baseAddress!)], table)
    }

    deinit {
        probes.deallocate()
        patterns.deallocate()
        ends.deallocate()
    }

    @inline(__always) func child(_ node: Int32, _ t: UInt32) -> Int32 {
        if node == 0 { return rootNext[Int(t)] }
        let k = UInt64(UInt32(node)) << 32 | UInt64(t)
        var i = TokenAutomaton.slot(k, mask)
        while true {
            let kk = keys[i]
            if kk == k { return values[i] }
            if kk == UInt64.max { return 0 }
            i = (i + 1) & mask
        }
    }

    /// The state after reading `token` in state `node` (nil: a token no pattern has).
    @inline(__always) func step(_ node: Int32, _ token: UInt32?) -> Int32 {
        guard let t = token else { return 0 }
        return step(node, t, root: rootNext[Int(t)])
    }

    /// `step` for a token whose root transition (`rootNext[t]`) is known.
    @inline(__always) func step(_ node: Int32, _ t: UInt32, root: Int32) -> Int32 {
        var s = node
        while s != 0 {
            let x = nodes[Int(s)]
            if x.childBits & (1 << UInt64(t & 63)) != 0 {
                let n = child(s, t)
                if n != 0 { return n }
            }
            s = x.fail
        }
        return root
    }

    /// Patterns ending in state `node`.
    func outputs(_ node: Int32) -> ArraySlice<Int32> {
        ArraySlice(UnsafeBufferPointer(rebasing: outList[Int(nodes[Int(node)].outStart)..<Int(nodes[Int(node) + 1].outStart)]))
    }

    /// Room for the matches of `count` tokens.
    @inline(__always) private func reserve(_ count: Int) {
        if capacity < count * maxOutputs {
            while capacity < count * maxOutputs { capacity *= 2 }
            patterns.deallocate(); ends.deallocate()
            patterns = .allocate(capacity: capacity)
            ends = .allocate(capacity: capacity)
        }
    }

    /// Runs the automaton over token ids (negative: a token no pattern has); fills
    /// matchPattern/matchEnd.
    package func match(ids: UnsafePointer<Int32>, count: Int) {
        reserve(count)
        var m = 0
        var node: Int32 = 0
        for i in 0..<count {
            let t = ids[i]
            if t < 0 { node = 0; continue }
            node = step(node, UInt32(t))
            if node == 0 { continue }
            let lo = Int(nodes[Int(node)].outStart), hi = Int(nodes[Int(node) + 1].outStart)
            for k in lo..<hi { patterns[m] = outList[k]; ends[m] = Int32(i); m += 1 }
        }
        matches = m
    }

    /// Runs the automaton over a tokenized document; fills matchPattern/matchEnd. The hot loop of
    /// `cooccur` and the contamination scan: each token is looked up by its bytes in the table of
    /// the patterns' tokens, which also gives the state after it when no state but the root has a
    /// transition on it (then the failure links need not be walked).
    package func match(_ tokens: TokenBuffer) {
        guard let table else { preconditionFailure("this matcher was built without the tokens' bytes") }
        let n = tokens.count
        reserve(n)
        let raw = UnsafeRawPointer(tokens.bytes)
        let tokenEnds = tokens.ends
        // Token i's key and slot are computed `ahead` tokens before it is matched, when its
        // entry is prefetched (the table outgrows the L1 and L2 caches for large eval sets); they
        // wait in a ring that stays in L1.
        let ring = probes
        let ahead = Self.ahead
        let wrap = 2 * ahead - 1
        var stagedEnd = 0
        @inline(__always) func stage(_ i: Int) {
            let e = Int(tokenEnds[i])
            ring[i & wrap] = table.stage(raw + stagedEnd, e - stagedEnd)
            stagedEnd = e
        }
        for i in 0..<min(ahead, n) { stage(i) }
        // Locals, so the loop keeps them in registers (stores through the output pointers could
        // otherwise alias the object's fields).
        let outPatterns = patterns, outEnds = ends
        let nodes = self.nodes, outList = self.outList, chainBits = self.chainBits
        var m = 0
        var node: Int32 = 0
        for i in 0..<n {
            if i + ahead < n { stage(i + ahead) }
            let x = table.entry(ring[i & wrap])
            // Most steps from a state other than the root end at the root's transition (no state
            // on the chain has one on this token): those take the path below, as from the root.
            if x.pointee.deep && chainBits[Int(node)] & (1 << UInt64(x.pointee.id & 63)) != 0 {
                node = step(node, x.pointee.id, root: x.pointee.root)
            } else {
                // Most tokens end no pattern or exactly one (themselves, from the root): the
                // match is written either way and kept when there is one (no branch on it).
                node = x.pointee.root
                let o = x.pointee.out
                outPatterns[m] = o; outEnds[m] = Int32(i)
                m &+= Int(truncatingIfNeeded: UInt32(bitPattern: ~o) >> 31)
                if o != -2 { continue }
            }
            if node == 0 { continue }
            let lo = Int(nodes[Int(node)].outStart), hi = Int(nodes[Int(node) + 1].outStart)
            for k in lo..<hi { outPatterns[m] = outList[k]; outEnds[m] = Int32(i); m += 1 }
        }
        matches = m
    }
}
