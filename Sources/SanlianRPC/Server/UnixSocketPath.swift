import SanlianEventLoop

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a server could not take its socket path.
package struct SocketPathError: Error, CustomStringConvertible, Sendable {
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Safe handling of a Unix socket path: length, directory permissions, stale files.
package enum UnixSocketPath {
    /// - Throws: when `path` does not fit `sun_path` (107 bytes plus the NUL).
    package static func validate(_ path: String) throws(SocketPathError) {
        let length = path.utf8.count
        guard length > 0 else { throw SocketPathError("the socket path is empty") }
        guard length <= RPCDefaults.maxSocketPathBytes else {
            throw SocketPathError(
                "socket path \(path) is \(length) bytes; Unix sockets allow at most \(RPCDefaults.maxSocketPathBytes)"
            )
        }
    }

    /// Makes `path` ready to bind: validates it, creates its directory (mode `directoryMode`), and
    /// removes an existing socket file only when nothing answers on it.
    /// - Throws: when a live server answers on `path`, or `path` is not a socket.
    package static func prepareForBinding(_ path: String, directoryMode: UInt32 = 0o750) throws(SocketPathError) {
        try validate(path)
        try createDirectory(parent(of: path), mode: mode_t(directoryMode))
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw SocketPathError("\(path) exists and is not a socket; refusing to replace it")
        }
        switch probe(path) {
        case .live:
            throw SocketPathError("another server is already listening on \(path)")
        case .stale:
            // Nothing accepted a connection: a crashed server's leftover, safe to remove.
            if unlink(path) != 0, errno != ENOENT {
                throw SocketPathError("cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    enum ProbeResult { case live, stale }

    /// Tries to connect to `path`: a refusal means no process is listening.
    static func probe(_ path: String) -> ProbeResult {
        #if os(Linux)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return .live }  // cannot tell; never remove what might be live
        defer { close(fd) }
        let result = UnixSocketAddress.withSocketAddress(path) { address, length in connect(fd, address, length) }
        if result == 0 { return .live }
        return errno == ECONNREFUSED || errno == ENOENT ? .stale : .live
    }

    /// Whether a server answers on `path` now (a connect succeeds, or finds its backlog full);
    /// for a client to say at once that nothing is running there rather than wait.
    package static func isListening(_ path: String) -> Bool {
        guard (try? validate(path)) != nil, access(path, F_OK) == 0 else { return false }
        #if os(Linux)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return true }
        defer { close(fd) }
        let result = UnixSocketAddress.withSocketAddress(path) { address, length in connect(fd, address, length) }
        return result == 0 || errno == EAGAIN || errno == EINPROGRESS
    }

    /// The device and inode of the file at `path`, to recognise our own socket at shutdown.
    package static func identity(of path: String) -> (dev: UInt64, ino: UInt64)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Removes `path` if it is still the socket file identified by `identity`.
    package static func remove(_ path: String, ifIdentity identity: (dev: UInt64, ino: UInt64)?) {
        guard let identity, let current = Self.identity(of: path), current == identity else { return }
        unlink(path)
    }

    package static func setMode(_ path: String, _ mode: UInt32) {
        chmod(path, mode_t(mode))
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `mkdir -p`, giving directories it creates `mode`.
    private static func createDirectory(_ directory: String, mode: mode_t) throws(SocketPathError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw SocketPathError("\(directory) exists and is not a directory")
            }
            return
        }
        let above = parent(of: directory)
        if above != directory { try createDirectory(above, mode: mode) }
        if mkdir(directory, mode) != 0, errno != EEXIST {
            throw SocketPathError("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        // mkdir applies the umask; set the mode the design asks for.
        chmod(directory, mode)
    }
}
