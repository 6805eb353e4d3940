import Foundation
import SanlianCredentials
import Testing

@Suite("Reading a department's credential file", .timeLimit(.minutes(1)))
struct CredentialFileTests {
    /// Writes `contents` to a new file with `mode` and returns its path.
    static func file(_ contents: String, mode: Int = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "sl-cred-\(UUID().uuidString.prefix(8))"
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test("the secret comes back without the surrounding whitespace an editor leaves")
    func trimmed() throws {
        let path = try Self.file("  0123456789abcdef0123\n\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try CredentialFile.read(path, owner: "traffic") == Array("0123456789abcdef0123".utf8))
    }

    @Test("a file others can read, a short secret, a huge file and a missing file are refused, by name")
    func refused() throws {
        let loose = try Self.file("0123456789abcdef0123", mode: 0o644)
        let short = try Self.file("0123456789\n")
        let huge = try Self.file(String(repeating: "x", count: 5000))
        defer { for path in [loose, short, huge] { try? FileManager.default.removeItem(atPath: path) } }
        #expect { try CredentialFile.read(loose, owner: "traffic") } throws: {
            "\($0)".contains("chmod 600 \(loose)") && "\($0)".contains("traffic")
        }
        #expect { try CredentialFile.read(short, owner: "traffic") } throws: {
            "\($0)".contains("fewer than 16 characters")
        }
        #expect { try CredentialFile.read(huge, owner: "traffic") } throws: { "\($0)".contains("not a secret") }
        #expect { try CredentialFile.read(loose + ".missing", owner: "traffic") } throws: {
            "\($0)".contains("cannot read credential file")
        }
    }
}
