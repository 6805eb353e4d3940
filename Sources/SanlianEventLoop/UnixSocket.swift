import CSanlianSystem

#if canImport(Glibc)
    package import Glibc
#endif

/// A socket call that failed: what was attempted and the system's reason.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// The errno.
    public let code: Int32

    init(_ what: String, _ code: Int32) {
        self.message = "\(what): \(String(cString: strerror(code)))"
        self.code = code
    }

    public var description: String { message }
}

/// Unix-domain socket addresses.
public enum UnixSocketAddress {
    /// The longest path `sockaddr_un` holds, its terminating NUL aside.
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Runs `body` with `path` as a `sockaddr_un` (cut to `maxPathBytes`: check the length first),
    /// for `bind` or `connect`.
    package static func withSocketAddress<R>(
        _ path: String,
        _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(maxPathBytes))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// A non-blocking stream socket, closed on exec.
    static func streamSocket() throws(SocketError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let descriptor = socket(AF_UNIX, type, 0)
        guard descriptor >= 0 else { throw SocketError("socket", errno) }
        return descriptor
    }
}

extension UnixStreamConnection {
    /// Connects to the Unix socket at `path`, for `eventLoop`. The connect does not wait: a
    /// server whose backlog is full refuses at once (EAGAIN), and the caller retries as for any
    /// other refusal. From any thread.
    public static func connect(to path: String, on eventLoop: EpollEventLoop) throws(SocketError)
        -> UnixStreamConnection
    {
        let descriptor = try UnixSocketAddress.streamSocket()
        var result: Int32
        repeat {
            result = UnixSocketAddress.withSocketAddress(path) { Glibc.connect(descriptor, $0, $1) }
        } while result != 0 && errno == EINTR
        guard result == 0 else {
            let failure = SocketError("cannot connect to \(path)", errno)
            Glibc.close(descriptor)
            throw failure
        }
        return UnixStreamConnection(descriptor: descriptor, eventLoop: eventLoop)
    }
}
