import Logging
package import SanlianContracts
package import SanlianRPC
package import SanlianWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The echo service (proto/echo.proto): a stand-in department service for tests and benchmarks
/// of the RPC runtime and the broker, written as a department service is: it implements the
/// generated `EchoV1.EchoService` with async methods, which `register(on:)` serves off the event
/// loop.
///
/// `registerOnEventLoop(on:)` serves `Echo` and `Active` instead on the event loop without a task
/// (`RPCRouter.register(_:immediate:)`, `sync:`), as the benchmark's brokered call measures the
/// runtime and the broker rather than a hand-off between threads; `sanlian-echo --on-event-loop`.
package struct EchoServer: EchoV1.EchoService {
    /// Named in every response (for round-robin tests).
    package let instance: String
    private let active = ActiveCalls()

    package init(instance: String = "sanlian-echo") {
        self.instance = instance
    }

    package func echo(_ request: EchoV1.EchoRequest, context: ServerContext) async throws -> EchoV1.EchoResponse {
        let remaining = context.remaining
        try await active.counting {
            Self.compute(milliseconds: request.busyMs, context)
            try await Self.pause(request.delayMs)
        }
        if request.failWithCode != 0 {
            throw RPCError(StatusCode(rawValue: Int32(clamping: request.failWithCode)), "failing as asked")
        }
        return response(for: request, index: 0, context: context, remaining: remaining)
    }

    package func stream(
        _ request: EchoV1.EchoRequest,
        responses: ResponseStreamWriter<EchoV1.EchoResponse>,
        context: ServerContext
    ) async throws {
        let remaining = context.remaining
        try await active.counting {
            for index in 0..<request.count {
                try await responses.send(response(for: request, index: index, context: context, remaining: remaining))
                try await Self.pause(request.delayMs)
            }
        }
    }

    package func active(_ request: EchoV1.EchoRequest, context: ServerContext) async throws -> EchoV1.EchoResponse {
        EchoV1.EchoResponse(index: UInt32(active.count), instance: instance)
    }

    /// Serves `Echo` and `Active` on the event loop as calls arrive, without a task (a delay is a
    /// timer on the loop), and `Stream` as `register(on:)` does.
    package func registerOnEventLoop(on router: inout RPCRouter) {
        register(on: &router)
        let active = self.active
        router.register(
            EchoV1.Echo.echo,
            immediate: { request, context, respond in
                let remaining = context.remaining
                guard request.delayMs > 0 || request.busyMs > 0 else {
                    answer(request, context: context, remaining: remaining, respond)
                    return
                }
                Self.compute(milliseconds: request.busyMs, context)
                // The timer and a cancellation race; whichever comes first ends the wait.
                let waiting = active.begin()
                let cancelTimer = respond.schedule(after: .milliseconds(Int(request.delayMs))) {
                    if waiting.end() { answer(request, context: context, remaining: remaining, respond) }
                }
                context.onCancel { _ in
                    if waiting.end() { cancelTimer() }
                }
            }
        )
        router.register(
            EchoV1.Echo.active,
            sync: { _, _ in EchoV1.EchoResponse(index: UInt32(active.count), instance: instance) }
        )
    }

    /// Answers an immediate Echo call: the failure it asks for, or its echo.
    private func answer(
        _ request: EchoV1.EchoRequest,
        context: ServerContext,
        remaining: Duration,
        _ respond: ImmediateResponder<EchoV1.EchoResponse>
    ) {
        if request.failWithCode != 0 {
            respond(.failure(RPCError(StatusCode(rawValue: Int32(clamping: request.failWithCode)), "failing as asked")))
        } else {
            respond(.success(response(for: request, index: 0, context: context, remaining: remaining)))
        }
    }

    /// Counts Echo and Stream calls in progress, so tests can see a cancellation reach the service.
    final class ActiveCalls: Sendable {
        private let running = Atomic<Int>(0)

        var count: Int { running.load(ordering: .relaxed) }

        func counting<T: Sendable>(_ body: () async throws -> T) async throws -> T {
            running.add(1, ordering: .relaxed)
            defer { running.subtract(1, ordering: .relaxed) }
            return try await body()
        }

        /// Counts a call until the returned wait's `end()`.
        func begin() -> Wait {
            running.add(1, ordering: .relaxed)
            return Wait(calls: self)
        }

        /// One delayed immediate Echo call, ended exactly once by its timer or its cancellation.
        final class Wait: Sendable {
            private let calls: ActiveCalls
            private let ended = Atomic<Bool>(false)

            init(calls: ActiveCalls) { self.calls = calls }

            /// Stops counting the call. Returns true for the first caller only.
            func end() -> Bool {
                guard ended.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else {
                    return false
                }
                calls.running.subtract(1, ordering: .relaxed)
                return true
            }
        }
    }

    private static func pause(_ milliseconds: UInt32) async throws {
        guard milliseconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int(milliseconds)))
    }

    /// Holds the thread for `milliseconds` without suspending, as a long computation would: a
    /// blocking wait, so that what it shows (whether anything else waits on this thread) does not
    /// depend on how busy the machine's CPUs are.
    private static func compute(milliseconds: UInt32, _ context: ServerContext) {
        guard milliseconds > 0 else { return }
        // Tests wait for this line to act while the computation holds its thread.
        context.logger.info("Computing before answering", metadata: ["echo.busy_ms": "\(milliseconds)"])
        var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }

    /// "key=value", built in one allocation: this runs for every entry of every call.
    private static func keyEqualsValue(_ entry: RPCV1.MetadataEntry) -> String {
        var line = ""
        line.reserveCapacity(entry.key.utf8.count + 1 + entry.value.utf8.count)
        line.append(entry.key)
        line.append("=")
        line.append(entry.value)
        return line
    }

    /// The caller's Unix uid: the broker's stamp on a forwarded call, else the connection's own
    /// peer credentials, else 0 (unknown).
    private static func callerUID(_ context: ServerContext) -> UInt32 {
        if let stamped = context.metadata[MetadataKey.peerUID], let uid = UInt32(stamped) { return uid }
        return context.peer.credentials?.uid ?? 0
    }

    private func response(
        for request: EchoV1.EchoRequest,
        index: UInt32,
        context: ServerContext,
        remaining: Duration
    ) -> EchoV1.EchoResponse {
        let (seconds, attoseconds) = remaining.components
        return EchoV1.EchoResponse(
            payload: request.payload,
            index: index,
            metadata: request.includeMetadata ? context.metadata.wire.map(Self.keyEqualsValue) : [],
            department: context.metadata[MetadataKey.department] ?? context.peer.department,
            peerUID: Self.callerUID(context),
            instance: instance,
            remainingMicros: UInt64(max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        )
    }
}
