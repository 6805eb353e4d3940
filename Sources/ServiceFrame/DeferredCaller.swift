import SanlianRPC
import SanlianWire
import Synchronization

/// A caller whose client is given once it exists: a service is made (and keeps its caller)
/// before the client that serves it through the broker, which needs the service's router.
final class DeferredCaller: RPCCaller {
    private let client = Mutex<RPCClient?>(nil)

    func bind(_ client: RPCClient) {
        self.client.withLock { $0 = client }
    }

    private func current() throws(RPCError) -> RPCClient {
        guard let client = client.withLock({ $0 }) else {
            throw RPCError(.unavailable, "the service is not connected to the broker yet")
        }
        return client
    }

    func unary<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions
    ) async throws(RPCError) -> Response {
        try await current().unary(method, request, options: options)
    }

    func serverStream<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions
    ) async throws(RPCError) -> ResponseStream<Response> {
        try await current().serverStream(method, request, options: options)
    }

    func unary(method: String, payload: [UInt8], options: CallOptions) async throws(RPCError) -> [UInt8] {
        try await current().unary(method: method, payload: payload, options: options)
    }
}
