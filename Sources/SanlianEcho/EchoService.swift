import NIOCore
package import SanlianRPC
import SanlianWire
import Synchronization

/// The echo service (proto/echo.proto): a stand-in department service for tests and benchmarks
/// of the RPC runtime and the broker.
///
/// `Echo` and `Active` never suspend, so they are immediate handlers: answered on the event loop
/// as the call arrives, a delay being a timer on that loop. `Stream` runs in a task per call.
package enum EchoService {
    /// Registers Echo, Stream and Active on `router`; responses name `instance`.
    package static func register(on router: inout RPCRouter, instance: String = "sanlian-echo") {
        let active = ActiveCalls()
        router.register(
            EchoV1.Echo.echo,
            immediate: { request, context, respond in
                let remaining = context.deadline - .now()
                guard request.delayMs > 0 else {
                    answer(request, context: context, instance: instance, remaining: remaining, respond)
                    return
                }
                // The timer and a cancellation race; whichever comes first ends the wait.
                let waiting = active.begin()
                let timer = context.connection.eventLoop.scheduleTask(in: .milliseconds(Int64(request.delayMs))) {
                    if waiting.end() {
                        answer(request, context: context, instance: instance, remaining: remaining, respond)
                    }
                }
                context.onCancel { _ in
                    if waiting.end() { timer.cancel() }
                }
            }
        )
        router.register(EchoV1.Echo.stream) { request, writer, context in
            let remaining = context.deadline - .now()
            try await active.counting {
                for index in 0..<request.count {
                    try await writer.send(
                        response(for: request, index: index, context: context, instance: instance, remaining: remaining)
                    )
                    try await pause(request.delayMs)
                }
            }
        }
        router.register(
            EchoV1.Echo.active,
            sync: { _, _ in
                EchoV1.EchoResponse(index: UInt32(active.count), instance: instance)
            }
        )
    }

    /// Answers an Echo call: the failure it asks for, or its echo.
    private static func answer(
        _ request: EchoV1.EchoRequest,
        context: ServerContext,
        instance: String,
        remaining: TimeAmount,
        _ respond: ImmediateResponder<EchoV1.EchoResponse>
    ) {
        if request.failWithCode != 0 {
            respond(.failure(RPCError(StatusCode(rawValue: Int32(clamping: request.failWithCode)), "failing as asked")))
        } else {
            respond(
                .success(response(for: request, index: 0, context: context, instance: instance, remaining: remaining))
            )
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

        /// One delayed Echo call, ended exactly once by its timer or its cancellation.
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
        try await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
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

    private static func response(
        for request: EchoV1.EchoRequest,
        index: UInt32,
        context: ServerContext,
        instance: String,
        remaining: TimeAmount
    ) -> EchoV1.EchoResponse {
        EchoV1.EchoResponse(
            payload: request.payload,
            index: index,
            metadata: request.includeMetadata ? context.metadata.wire.map(keyEqualsValue) : [],
            department: context.metadata[MetadataKey.department] ?? context.peer.department,
            peerUID: callerUID(context),
            instance: instance,
            remainingMicros: UInt64(max(0, remaining.nanoseconds / 1_000))
        )
    }
}
