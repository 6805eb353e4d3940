/// A small deterministic generator, so that random splits and mutations are reproducible from
/// their seed.
package struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `bytes` with one to `maxEdits` random edits: a byte replaced, zeroed (a NUL inside a string
/// field) or a bit flipped, a byte inserted or deleted, the tail cut off, or a slice repeated
/// (which repeats fields and frames).
package func mutated(_ bytes: [UInt8], maxEdits: Int = 3, using generator: inout SplitMix64) -> [UInt8] {
    var bytes = bytes
    for _ in 0..<Int.random(in: 1...maxEdits, using: &generator) {
        let at = Int.random(in: 0...max(bytes.count - 1, 0), using: &generator)
        switch Int.random(in: 0..<7, using: &generator) {
        case 0 where !bytes.isEmpty: bytes[at] = UInt8.random(in: 0...255, using: &generator)
        case 6 where !bytes.isEmpty: bytes[at] = 0
        case 1 where !bytes.isEmpty: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: at)
        case 3 where !bytes.isEmpty: bytes.remove(at: at)
        case 4: bytes.removeLast(Int.random(in: 0...(bytes.count - at), using: &generator))
        default:
            let end = Int.random(in: at...bytes.count, using: &generator)
            bytes.append(contentsOf: bytes[at..<end])
        }
    }
    return bytes
}
