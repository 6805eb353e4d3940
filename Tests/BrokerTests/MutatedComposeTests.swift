import BrokerAccess
import Foundation
import SanlianCompose
import SanlianTestHarness
import Testing

/// The compose file is written by hand at the station: the default one, mutated at random a few
/// thousand times, is either read (and its access policy built) or refused with a message —
/// never a trap.
@Suite("Mutated compose files", .timeLimit(.minutes(1)))
struct MutatedComposeTests {
    static let original: [UInt8] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("compose/township.yaml").path
        return Array(FileManager.default.contents(atPath: path) ?? Data())
    }()

    @Test("read or refused with a message, never a trap", arguments: [1, 2] as [UInt64])
    func readOrRefused(seed: UInt64) throws {
        try #require(!Self.original.isEmpty)
        var generator = SplitMix64(seed: seed)
        var read = 0
        for _ in 0..<1_000 {
            let text = String(decoding: mutated(Self.original, maxEdits: 3, using: &generator), as: UTF8.self)
            do {
                let compose = try ComposeFile.parse(text)
                _ = try AccessPolicy(compose: compose)
                read += 1
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        // Edits in comments and values leave many files readable: the accepting path ran too.
        #expect(read > 50)
    }
}
