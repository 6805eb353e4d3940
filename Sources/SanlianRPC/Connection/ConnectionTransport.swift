package import NIOCore
package import SanlianEventLoop

/// The socket under a connection, as `RPCConnectionHandler` uses it: a Unix stream socket on an
/// `EpollEventLoop` in every process, an in-memory pair in the runtime's unit tests.
package protocol ConnectionTransport: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// Not yet closed. From any thread.
    var isActive: Bool { get }
    /// Completes when the transport has closed.
    var closeFuture: EventLoopFuture<Void> { get }
    /// Starts delivering what the peer sends to `delegate`. On the loop.
    /// - Returns: false when the transport could not start (it is then closed).
    @discardableResult
    func start(delegate: any StreamConnectionDelegate) -> Bool
    /// Writes `bytes` (whole frames) in order after everything written before. On the loop.
    func write(_ bytes: ByteBuffer)
    /// Bytes written and not yet taken by the peer's socket. On the loop.
    var pendingWriteBytes: Int { get }
    /// Bytes the peer's socket has taken since the connection opened. On the loop.
    var bytesSent: UInt64 { get }
    /// Drops what waits unsent but a frame already begun. On the loop.
    /// - Returns: how many bytes were dropped.
    @discardableResult
    func discardUnsent() -> Int
    /// Closes once everything written is sent, or at `deadline`. On the loop.
    func closeWhenFlushed(deadline: NIODeadline)
    /// Stops or resumes reading from the peer. On the loop.
    func setReading(_ on: Bool)
    /// Closes at once; the delegate hears `connectionClosed`. On the loop.
    func close()
    /// Closes from any thread.
    func closeSoon()
}

extension UnixStreamConnection: ConnectionTransport {
    package var eventLoop: any EventLoop { loop }
}
