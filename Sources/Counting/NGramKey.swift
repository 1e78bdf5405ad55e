/// A fixed-order n-gram of token ids packed into integers so that integer order equals the
/// lexicographic order of the id tuple. Sorting and comparing keys is then one or two integer
/// comparisons, and spill runs sort by the same order the index's primary key uses.
public protocol NGramKey: Comparable, Sendable {
    static var order: Int { get }
    init(_ ids: UnsafePointer<UInt32>)
    func write(_ out: UnsafeMutablePointer<UInt32>)
    var hash: UInt64 { get }
}

public struct Key2: NGramKey {
    public var v: UInt64
    public static var order: Int { 2 }
    @inline(__always) public init(_ ids: UnsafePointer<UInt32>) { v = UInt64(ids[0]) << 32 | UInt64(ids[1]) }
    @inline(__always) public func write(_ out: UnsafeMutablePointer<UInt32>) {
        out[0] = UInt32(truncatingIfNeeded: v >> 32); out[1] = UInt32(truncatingIfNeeded: v)
    }
    @inline(__always) public var hash: UInt64 { mix64(v) }
    @inline(__always) public static func < (a: Key2, b: Key2) -> Bool { a.v < b.v }
}

public struct Key3: NGramKey {
    public var v: UInt128
    public static var order: Int { 3 }
    @inline(__always) public init(_ ids: UnsafePointer<UInt32>) {
        v = UInt128(ids[0]) << 64 | UInt128(ids[1]) << 32 | UInt128(ids[2])
    }
    @inline(__always) public func write(_ out: UnsafeMutablePointer<UInt32>) {
        out[0] = UInt32(truncatingIfNeeded: v >> 64); out[1] = UInt32(truncatingIfNeeded: v >> 32)
        out[2] = UInt32(truncatingIfNeeded: v)
    }
    @inline(__always) public var hash: UInt64 {
        mix64(UInt64(truncatingIfNeeded: v) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: v >> 64))
    }
    @inline(__always) public static func < (a: Key3, b: Key3) -> Bool { a.v < b.v }
}

public struct Key4: NGramKey {
    public var v: UInt128
    public static var order: Int { 4 }
    @inline(__always) public init(_ ids: UnsafePointer<UInt32>) {
        v = UInt128(ids[0]) << 96 | UInt128(ids[1]) << 64 | UInt128(ids[2]) << 32 | UInt128(ids[3])
    }
    @inline(__always) public func write(_ out: UnsafeMutablePointer<UInt32>) {
        out[0] = UInt32(truncatingIfNeeded: v >> 96); out[1] = UInt32(truncatingIfNeeded: v >> 64)
        out[2] = UInt32(truncatingIfNeeded: v >> 32); out[3] = UInt32(truncatingIfNeeded: v)
    }
    @inline(__always) public var hash: UInt64 {
        mix64(UInt64(truncatingIfNeeded: v) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: v >> 64))
    }
    @inline(__always) public static func < (a: Key4, b: Key4) -> Bool { a.v < b.v }
}

public struct Key5: NGramKey {
    public var hi: UInt128
    public var lo: UInt32
    public static var order: Int { 5 }
    @inline(__always) public init(_ ids: UnsafePointer<UInt32>) {
        hi = UInt128(ids[0]) << 96 | UInt128(ids[1]) << 64 | UInt128(ids[2]) << 32 | UInt128(ids[3])
        lo = ids[4]
    }
    @inline(__always) public func write(_ out: UnsafeMutablePointer<UInt32>) {
        out[0] = UInt32(truncatingIfNeeded: hi >> 96); out[1] = UInt32(truncatingIfNeeded: hi >> 64)
        out[2] = UInt32(truncatingIfNeeded: hi >> 32); out[3] = UInt32(truncatingIfNeeded: hi)
        out[4] = lo
    }
    @inline(__always) public var hash: UInt64 {
        mix64((UInt64(truncatingIfNeeded: hi) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: hi >> 64))
            &* 0xC2B2_AE3D_27D4_EB4F ^ UInt64(lo))
    }
    @inline(__always) public static func < (a: Key5, b: Key5) -> Bool { a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }
}

/// One counted n-gram: the layout of hash-table entries and of spill-run records alike.
public struct Entry<K: NGramKey> {
    public var key: K
    public var count: UInt64
    public var df: UInt32
    /// Last document (worker-local number) that incremented `df`; meaningless in runs.
    public var last: UInt32
}
