import Foundation
import NIOCore
package import SanlianWire

#if canImport(Glibc)
    import Glibc
#endif

/// A Unix stream socket driven by hand, which reads only when told to: for a peer that writes
/// without reading what it is sent, which no `RPCClient` and no NIO channel can be.
package final class RawSocket: Sendable {
    package let descriptor: Int32

    /// Connects (blocking) to `path`; the socket is non-blocking afterwards.
    package init(connectingTo path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HarnessError("cannot connect to \(path): \(reason)")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(descriptor) }

    /// Writes as much of `bytes` from `offset` as the socket takes now.
    /// - Returns: the new offset (equal to `bytes.count` when all is written).
    package func writeSome(_ bytes: [UInt8], from offset: Int) throws -> Int {
        var offset = offset
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return offset }
            throw HarnessError("send: \(String(cString: strerror(errno)))")
        }
        return offset
    }

    /// Waits up to `timeout` for the socket to take more bytes.
    /// - Returns: false when it did not within the time.
    package func waitWritable(timeout: Duration) -> Bool {
        poll(Int16(POLLOUT), timeout: timeout) & Int16(POLLOUT) != 0
    }

    /// Whether the peer has closed its end (bytes it sent before may still wait to be read).
    package var peerClosed: Bool {
        // POLLRDHUP (0x2000), which Glibc's module does not export.
        let peerHungUp = Int16(0x2000)
        return poll(peerHungUp, timeout: .zero) & (peerHungUp | Int16(POLLHUP)) != 0
    }

    private func poll(_ events: Int16, timeout: Duration) -> Int16 {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        let ready = Glibc.poll(&entry, 1, milliseconds)
        return ready > 0 ? entry.revents : 0
    }

    /// Reads every frame the peer sends until it closes the connection, waiting at most
    /// `timeout` for each read.
    package func readFramesUntilClosed(timeout: Duration = .seconds(20)) throws -> [RPCV1.Frame] {
        var input: [UInt8] = []
        var frames: [RPCV1.Frame] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            guard poll(Int16(POLLIN), timeout: timeout) != 0 else { throw HarnessError("no end of the connection") }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EAGAIN || errno == EINTR { continue }
            if count <= 0 { break }
            input += chunk[..<count]
            while input.count >= 4 {
                let length = input[0..<4].reduce(0) { $0 << 8 | Int($1) }
                guard input.count >= 4 + length else { break }
                frames.append(try RPCV1.Frame(serializedBytes: Array(input[4..<(4 + length)])))
                input.removeFirst(4 + length)
            }
        }
        return frames
    }

    /// Reads the next whole frame, waiting at most `timeout`.
    package func readFrame(timeout: Duration = .seconds(10)) throws -> RPCV1.Frame {
        var header = [UInt8]()
        try readExactly(4, into: &header, timeout: timeout)
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        var body = [UInt8]()
        try readExactly(length, into: &body, timeout: timeout)
        return try RPCV1.Frame(serializedBytes: body)
    }

    private func readExactly(_ count: Int, into bytes: inout [UInt8], timeout: Duration) throws {
        var chunk = [UInt8](repeating: 0, count: max(count, 1))
        while bytes.count < count {
            guard poll(Int16(POLLIN), timeout: timeout) != 0 else { throw HarnessError("no frame within \(timeout)") }
            let got = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count - bytes.count, 0) }
            if got < 0, errno == EAGAIN || errno == EINTR { continue }
            guard got > 0 else { throw HarnessError("the connection closed") }
            bytes += chunk[..<got]
        }
    }
}

extension RPCV1.Frame {
    /// The frame with its length prefix, as it goes on the wire.
    package func lengthPrefixed() throws -> [UInt8] {
        var buffer = ByteBuffer()
        try buffer.writeFrame(self)
        return Array(buffer.readableBytesView)
    }
}
