import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// nio-floor: the benchmark's second floor. The C floor (bench/c/relay.c and echo_server.c) done
// the way a SwiftNIO program does it, and nothing more: a byte relay that opens one upstream
// connection per client, and a byte echo, each on one event loop (as Sanlian's daemons run), with
// the default channel options, writing what it reads and flushing when a read is done. Between the
// C floor and Sanlian it separates what SwiftNIO costs on this machine from what the RPC runtime
// and the broker add on top of it (docs/PERFORMANCE.md, "Decisions that stand"). Not part of the township.
//
// usage: nio-floor relay LISTEN_PATH UPSTREAM_PATH
//        nio-floor echo LISTEN_PATH

/// Writes what its channel reads to its partner's channel, and closes the partner when its own
/// channel closes: one per side of a relayed connection.
final class RelayHalf: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: RelayHalf?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.context?.flush() }

    func channelInactive(context: ChannelHandlerContext) { partner?.context?.close(promise: nil) }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// Writes back what its channel reads.
final class Echo: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.write(data, promise: nil) }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

func fail(_ message: String) -> Never {
    var line = "nio-floor: \(message)\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(2)
}

let usage = "usage: nio-floor relay LISTEN_PATH UPSTREAM_PATH | nio-floor echo LISTEN_PATH"
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "-h" || arguments.first == "--help" {
    print(usage)
    exit(0)
}
// A process started from a thread that blocks signals (a Swift concurrency thread, say) inherits
// its mask: SIGTERM would never arrive, and whoever started this floor would wait for it forever.
var unblocked = sigset_t()
sigemptyset(&unblocked)
pthread_sigmask(SIG_SETMASK, &unblocked, nil)
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let bootstrap: ServerBootstrap
switch (arguments.first, arguments.count) {
case ("echo", 2):
    bootstrap = ServerBootstrap(group: group).childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
    }
case ("relay", 3):
    let upstream = arguments[2]
    // The client's channel becomes active, and is read, once its upstream connection is up. Both
    // channels are on the client's event loop, where the two halves meet.
    bootstrap = ServerBootstrap(group: group).childChannelInitializer { client in
        client.eventLoop.makeCompletedFuture {
            let downstreamHalf = RelayHalf()
            try client.pipeline.syncOperations.addHandler(downstreamHalf)
            return NIOLoopBound(downstreamHalf, eventLoop: client.eventLoop)
        }.flatMap { downstreamHalf in
            ClientBootstrap(group: client.eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let upstreamHalf = RelayHalf()
                        upstreamHalf.partner = downstreamHalf.value
                        downstreamHalf.value.partner = upstreamHalf
                        try channel.pipeline.syncOperations.addHandler(upstreamHalf)
                    }
                }
                .connect(unixDomainSocketPath: upstream)
                .map { _ in }
        }
    }
default:
    fail(usage)
}
do {
    let listener = try bootstrap.bind(unixDomainSocketPath: arguments[1], cleanupExistingSocketFile: true).wait()
    try listener.closeFuture.wait()
} catch {
    fail("cannot serve on \(arguments[1]): \(error)")
}
