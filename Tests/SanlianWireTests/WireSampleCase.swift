import NIOCore
import SanlianTestHarness
import SanlianWire
import Testing

/// A message type that can produce test values: variant n fills every field and picks member
/// n of each oneof.
protocol WireSampled: WireMessage {
    static var sampleVariants: Int { get }
    static func sample(variant: Int) -> Self
}

/// One generated message type under test, with the checks to run on it.
struct WireSampleCase: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let protoName: String
    /// Each sample encoded, and its JSON with and without default values.
    let jsonSamples: @Sendable () throws -> [(bytes: [UInt8], withDefaults: String, without: String)]
    let roundTripAll: @Sendable () throws -> Void
    let rejectTruncated: @Sendable () throws -> Void
    let decodeMutated: @Sendable () throws -> Void

    init<M: WireSampled>(_ type: M.Type) {
        testDescription = M.protoName
        protoName = M.protoName
        jsonSamples = {
            try ([M()] + (0..<M.sampleVariants).map(M.sample(variant:))).map { sample in
                (
                    try sample.serializedBytes(), sample.jsonText(options: JSONOptions(includeDefaults: true)),
                    sample.jsonText()
                )
            }
        }
        roundTripAll = {
            let samples = [M()] + (0..<M.sampleVariants).map(M.sample(variant:))
            for sample in samples {
                let bytes = try sample.serializedBytes()
                let decoded = try M(serializedBytes: bytes)
                #expect(decoded == sample, "\(M.protoName) changed in a round trip")
            }
        }
        rejectTruncated = {
            // The last byte always belongs to the last field's value (a varint's final byte, a
            // fixed-width value, or the end of a length-delimited one), so dropping it always leaves
            // an incomplete field; cutting more could land on a field boundary and stay valid.
            for variant in 0..<M.sampleVariants {
                let bytes = try M.sample(variant: variant).serializedBytes()
                guard !bytes.isEmpty else { continue }
                #expect(throws: WireError.self, "\(M.protoName) without its last byte") {
                    try M(serializedBytes: bytes.dropLast())
                }
            }
        }
        decodeMutated = {
            // Whatever protobuf-c and the generated code make of edited bytes (a trap would end
            // the run), a message decoded once encodes and decodes to itself.
            var generator = SplitMix64(seed: UInt64(truncatingIfNeeded: M.protoName.utf8.count))
            for variant in 0..<M.sampleVariants {
                let bytes = try M.sample(variant: variant).serializedBytes()
                for _ in 0..<60 {
                    guard let decoded = try? M(serializedBytes: mutated(bytes, using: &generator)) else { continue }
                    #expect(
                        try M(serializedBytes: decoded.serializedBytes()) == decoded,
                        "\(M.protoName) decoded from edited bytes changed in a round trip"
                    )
                }
            }
        }
    }
}
