import NIOCore
package import SanlianRPC
import SanlianWire
import Synchronization

/// The echo service (proto/echo.proto): a stand-in department service for tests and benchmarks
/// of the RPC runtime and the broker.
package enum EchoService {
    /// Registers Echo, Stream and Active on `router`; responses name `instance`.
    package static func register(on router: inout RPCRouter, instance: String = "sanlian-echo") {
        let active = ActiveCalls()
        router.register(EchoV1.Echo.echo) { request, context in
            let remaining = context.deadline - .now()
            return try await active.counting {
                try await pause(request.delayMs)
                if request.failWithCode != 0 {
                    throw RPCError(StatusCode(rawValue: Int32(request.failWithCode)), "failing as asked")
                }
                return response(for: request, index: 0, context: context, instance: instance, remaining: remaining)
            }
        }
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
        router.register(EchoV1.Echo.active) { _, _ in
            EchoV1.EchoResponse(index: UInt32(active.count), instance: instance)
        }
    }

    /// Counts handlers running, so tests can see a cancellation reach the service.
    final class ActiveCalls: Sendable {
        private let running = Atomic<Int>(0)

        var count: Int { running.load(ordering: .relaxed) }

        func counting<T: Sendable>(_ body: () async throws -> T) async throws -> T {
            running.add(1, ordering: .relaxed)
            defer { running.subtract(1, ordering: .relaxed) }
            return try await body()
        }
    }

    private static func pause(_ milliseconds: UInt32) async throws {
        guard milliseconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
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
            metadata: context.metadata.map { "\($0.key)=\($0.value)" },
            department: context.metadata[MetadataKey.department] ?? context.peer.department,
            peerUID: context.peer.credentials?.uid ?? UInt32.max,
            instance: instance,
            remainingMicros: UInt64(max(0, remaining.nanoseconds / 1_000))
        )
    }
}
