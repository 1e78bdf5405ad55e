/// Final mixer of MurmurHash3 (fmix64): every input bit affects every output bit.
/// Inlinable across the package's modules (MinHash and the prune workers use it in hot loops).
@inlinable package func mix64(_ x: UInt64) -> UInt64 {
    var h = x
    h ^= h >> 33
    h &*= 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 33
    h &*= 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return h
}

/// Hash of a byte string, eight bytes at a time. Tables that use it compare the stored bytes on
/// every hit, so a collision costs a probe, never a wrong count.
/// `seed` gives independent hash functions (the default is the one the tables use).
@inline(__always) package func hashBytes(_ p: UnsafeRawPointer, _ n: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
    var h: UInt64 = seed ^ UInt64(truncatingIfNeeded: n)
    var i = 0
    while i + 8 <= n {
        let v = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ v) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 29
        i += 8
    }
    if i < n {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            v |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h = (h ^ v) &* 0xC4CE_B9FE_1A85_EC53
    }
    return mix64(h)
}

/// Masks for loading a token's first `8 * words` bytes as whole words: row `min(len, 8 * words)`
/// holds `words` masks, and word j keeps clamp(len - 8j, 0, 8) of its bytes (the rest of a word
/// read past a token's end is zeroed). Allocated once by each caller and never freed.
package func keyWordMasks(words: Int) -> UnsafePointer<UInt64> {
    let rows = 8 * words + 1
    let m = UnsafeMutablePointer<UInt64>.allocate(capacity: rows * words)
    for len in 0..<rows {
        for j in 0..<words {
            let bytes = min(8, max(0, len - 8 * j))
            m[words * len + j] = bytes == 8 ? .max : (1 &<< UInt64(8 * bytes)) &- 1
        }
    }
    return UnsafePointer(m)
}
