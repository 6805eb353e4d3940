#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a department's credential file cannot be used.
package struct CredentialError: Error, CustomStringConvertible, Equatable {
    package var description: String

    package init(description: String) {
        self.description = description
    }
}

/// A department's credential file: the secret the broker and the department's processes share.
/// The broker and every client read it by the same rules, here; without Foundation, so that a
/// department service links none of the broker's parts to read its secret.
package enum CredentialFile {
    /// Fewer characters than this is no secret.
    package static let minimumLength = 16
    /// Far more than any secret; a bigger file is a mistake.
    static let maximumBytes = 4096

    /// Reads the secret in `path`, trimmed of surrounding ASCII whitespace, refusing a file that
    /// group or others can read, one that is too short, and one that cannot be read.
    /// - Parameter owner: whose file it is, for the error message ("traffic", "this client").
    package static func read(_ path: String, owner: String) throws(CredentialError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CredentialError(description: "cannot read credential file \(path) of \(owner)")
        }
        defer { close(fd) }
        // The mode of the file actually opened, not of whatever the path names a moment later.
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CredentialError(description: "cannot read credential file \(path) of \(owner)")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CredentialError(
                description:
                    "credential file \(path) of \(owner) can be read by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path)"
            )
        }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let count = chunk.withUnsafeMutableBytes { readBytes(fd, into: $0) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw CredentialError(description: "cannot read credential file \(path) of \(owner)")
            }
            if count == 0 { break }
            contents += chunk[..<count]
            guard contents.count <= maximumBytes else {
                throw CredentialError(
                    description: "credential file \(path) of \(owner) is over \(maximumBytes) bytes: not a secret"
                )
            }
        }
        let secret = trimmed(contents)
        guard secret.count >= minimumLength else {
            throw CredentialError(
                description: "credential file \(path) of \(owner) holds fewer than \(minimumLength) characters"
            )
        }
        return secret
    }

    /// `bytes` without leading and trailing ASCII whitespace (the newline an editor adds).
    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return Array(bytes[first...last])
    }
}

/// read(2), named apart from `CredentialFile.read`.
private func readBytes(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    read(fd, buffer.baseAddress, buffer.count)
}
