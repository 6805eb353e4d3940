import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

@Suite("Generated typed clients over real processes", .timeLimit(.minutes(1)))
struct TypedClientTests {
    @Test("every method of the echo service through its generated client, via the broker to the echo daemon")
    func echoClient() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withEchoService(township, instance: "typed") { _ in
                try await township.withClient("station") { client in
                    let echo = EchoV1.EchoClient(client, options: CallOptions(timeout: .seconds(10)))
                    let answer = try await echo.echo(EchoV1.EchoRequest(payload: [4, 2], includeMetadata: true))
                    #expect(answer.payload == [4, 2] && answer.instance == "typed")
                    #expect(answer.department == "station")
                    var indices: [UInt32] = []
                    for try await response in try await echo.stream(EchoV1.EchoRequest(count: 3)) {
                        indices.append(response.index)
                    }
                    #expect(indices == [0, 1, 2])
                    #expect(try await echo.active(EchoV1.EchoRequest()).index == 0)
                    await #expect {
                        try await echo.echo(EchoV1.EchoRequest(failWithCode: 5))
                    } throws: { error in
                        (error as? RPCError)?.code == .notFound
                    }
                    // The broker's own services through theirs.
                    let health = HealthV1.HealthClient(client)
                    #expect(
                        try await health.check(HealthV1.HealthCheckRequest(service: EchoV1.Echo.name)).status
                            == .serving
                    )
                }
            }
        }
    }
}
