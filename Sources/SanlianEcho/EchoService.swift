package import SanlianRPC
import SanlianWire

/// The echo service (proto/echo.proto): a stand-in department service for tests and benchmarks
/// of the RPC runtime and the broker.
package enum EchoService {
    /// Registers Echo and Stream on `router`.
    package static func register(on router: inout RPCRouter) {
        router.register(EchoV1.Echo.echo) { request, context in
            try await pause(request.delayMs)
            if request.failWithCode != 0 {
                throw RPCError(StatusCode(rawValue: Int32(request.failWithCode)), "failing as asked")
            }
            return response(for: request, index: 0, context: context)
        }
        router.register(EchoV1.Echo.stream) { request, writer, context in
            for index in 0..<request.count {
                try await writer.send(response(for: request, index: index, context: context))
                try await pause(request.delayMs)
            }
        }
    }

    private static func pause(_ milliseconds: UInt32) async throws {
        guard milliseconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
    }

    private static func response(for request: EchoV1.EchoRequest, index: UInt32, context: ServerContext)
        -> EchoV1.EchoResponse
    {
        EchoV1.EchoResponse(
            payload: request.payload,
            index: index,
            metadata: context.metadata.map { "\($0.key)=\($0.value)" },
            department: context.metadata[MetadataKey.department] ?? context.peer.department,
            peerUID: context.peer.credentials?.uid ?? UInt32.max
        )
    }
}
