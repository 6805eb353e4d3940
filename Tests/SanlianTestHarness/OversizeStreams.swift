import NIOCore
package import SanlianRPC
package import SanlianWire

/// Echo `Stream` requests whose every response (6,000 bytes) is over a 4 KiB frame limit: a
/// short stream, whose messages are all refused before its handler returns (its OK queued behind
/// them), and one that would send for minutes unless its handler is stopped.
package let oversizeStreamRequests = [
    EchoV1.EchoRequest(payload: [UInt8](repeating: 7, count: 6000), count: 3),
    EchoV1.EchoRequest(payload: [UInt8](repeating: 7, count: 6000), delayMs: 5, count: 100_000),
]

/// Streams each of `oversizeStreamRequests` through `client`, whose frame limit is `limit`, and
/// says what went otherwise than it should: each stream ends before any message, with
/// RESOURCE_EXHAUSTED naming the limit. Empty when all did.
package func oversizeStreamProblems(_ client: RPCClient, limit: Int) async throws -> [String] {
    var problems: [String] = []
    for (index, request) in oversizeStreamRequests.enumerated() {
        let responses = try await client.serverStream(
            EchoV1.Echo.stream,
            request,
            options: CallOptions(timeout: .seconds(20))
        )
        var received = 0
        do {
            for try await _ in responses { received += 1 }
            problems.append("stream \(index) ended normally after \(received) messages")
        } catch {
            if received > 0 { problems.append("stream \(index) received \(received) messages") }
            if error.code != .resourceExhausted || !error.message.contains("\(limit)") {
                problems.append("stream \(index) ended with \(error.code): \(error.message)")
            }
        }
    }
    return problems
}
