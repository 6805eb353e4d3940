import Foundation
package import SanlianCompose
package import SanlianCredentials

#if canImport(Glibc)
    import Glibc
#endif

/// Department and operator secrets, read from the files the compose file names.
package struct CredentialStore: Sendable {
    /// Department code → secret bytes.
    package let secrets: [String: [UInt8]]
    /// Operator id → secret bytes, for operators authenticated by a credential file.
    package let operatorSecrets: [String: [UInt8]]

    package init(secrets: [String: [UInt8]], operatorSecrets: [String: [UInt8]] = [:]) {
        self.secrets = secrets
        self.operatorSecrets = operatorSecrets
    }

    /// Loads every department's and every operator's secret, creating missing files (mode 0600,
    /// in a 0700 directory).
    /// - Throws: `CredentialError` when a file is readable by group or others, is empty, or cannot
    ///   be read or created: the broker must not start with a secret others can read.
    package static func load(compose: ComposeFile, stateDirectory: String, createMissing: Bool = true)
        throws(CredentialError)
        -> CredentialStore
    {
        func secret(_ file: String, key: String, owner: String) throws(CredentialError) -> [UInt8] {
            let path = ComposeFile.resolve(file, stateDirectory: stateDirectory)
            if !FileManager.default.fileExists(atPath: path) {
                guard createMissing else {
                    throw CredentialError(description: "\(key): credential file \(path) does not exist")
                }
                try create(path)
            }
            return try read(path, department: owner)
        }
        var secrets: [String: [UInt8]] = [:]
        for (code, department) in compose.departments.sorted(by: { $0.key < $1.key }) {
            secrets[code] = try secret(department.credentialFile, key: "departments.\(code)", owner: code)
        }
        var operatorSecrets: [String: [UInt8]] = [:]
        for (id, person) in compose.operators.sorted(by: { $0.key < $1.key }) {
            guard let file = person.credentialFile else { continue }
            operatorSecrets[id] = try secret(file, key: "operators.\(id)", owner: "operator \(id)")
        }
        return CredentialStore(secrets: secrets, operatorSecrets: operatorSecrets)
    }

    /// Reads a secret file by the rules every reader follows (`CredentialFile`).
    package static func read(_ path: String, department: String) throws(CredentialError) -> [UInt8] {
        try CredentialFile.read(path, owner: department)
    }

    /// Writes a new random secret to `path` with mode 0600; never overwrites.
    static func create(_ path: String) throws(CredentialError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw CredentialError(description: "cannot create \(directory): \(error)")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        let hex = Array("0123456789abcdef".utf8)
        let secret = String(
            decoding: bytes.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] } + [UInt8(ascii: "\n")],
            as: UTF8.self
        )
        // Written whole to a private temporary file, then linked into place: a reader never sees
        // a half-written secret, and link() refuses to replace one another broker made first.
        let temporary = path + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw CredentialError(
                description: "cannot create credential file \(temporary): \(String(cString: strerror(errno)))"
            )
        }
        defer { unlink(temporary) }
        let written = secret.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        let synced = fsync(fd)
        close(fd)
        guard written == secret.utf8.count, synced == 0 else {
            throw CredentialError(description: "cannot write credential file \(temporary)")
        }
        if link(temporary, path) != 0, errno != EEXIST {
            throw CredentialError(
                description: "cannot create credential file \(path): \(String(cString: strerror(errno)))"
            )
        }
    }
}

/// Compares secrets in time independent of where they differ.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
