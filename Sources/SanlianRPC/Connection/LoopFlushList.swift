import NIOCore
import SanlianEventLoop

/// The connections of one event loop written to while another connection of that loop was
/// reading, flushed together when that read ends. The broker forwards a caller's frame to a
/// service's connection and the service's answer to the caller's, each from the other
/// connection's read, and a flush task per such write was a tenth of the broker's work per call.
/// Reads on one event loop do not nest, so one list per loop serves all its connections.
///
/// Confined to its event loop, like the handlers it holds.
final class LoopFlushList {
    /// Connections of this loop between the bytes of a read and the end of that read.
    private(set) var readers = 0
    private var waiting: [RPCConnectionHandler] = []
    /// Kept from one flush to the next so that a flush does not allocate.
    private var spare: [RPCConnectionHandler] = []

    func beginRead() { readers += 1 }

    /// A read ended (`connectionReadComplete`, or the reader's connection closed in the middle of
    /// it, when no `connectionReadComplete` follows): flushes every connection written to meanwhile.
    func endRead() {
        readers -= 1
        guard !waiting.isEmpty else { return }
        // Swapped out first: a flush can close a connection, whose handler may write to others.
        // `spare` is emptied as it is taken, so that `waiting` owns its buffer alone: shared,
        // the next append would copy it.
        var flushing = spare
        spare = []
        swap(&flushing, &waiting)
        for handler in flushing { handler.flushDeferred() }
        flushing.removeAll(keepingCapacity: true)
        spare = flushing
    }

    /// `handler` has output to flush when the read in progress ends. Call only while `readers > 0`.
    func flushAfterRead(_ handler: RPCConnectionHandler) {
        waiting.append(handler)
    }
}

extension LoopFlushList {
    /// The list of `eventLoop` when it is one of the process-wide group's loops
    /// (`EpollEventLoopGroup.shared`), which live as long as the process; nil for any other loop
    /// (a test's `EmbeddedEventLoop`), whose connections keep a flush task per write. Call on
    /// `eventLoop`.
    static func of(_ eventLoop: any EventLoop) -> LoopFlushList? {
        lists[ObjectIdentifier(eventLoop)]?.value
    }

    private static let lists: [ObjectIdentifier: NIOLoopBoundBox<LoopFlushList>] = {
        var lists: [ObjectIdentifier: NIOLoopBoundBox<LoopFlushList>] = [:]
        for loop in EpollEventLoopGroup.shared.loops {
            lists[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(LoopFlushList(), eventLoop: loop)
        }
        return lists
    }()
}
