import Foundation
import HazardsContract
import NIOCore
import ResidentsContract
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Synchronization
import Testing

@Suite("Broker routing over real processes", .timeLimit(.minutes(2)))
struct BrokerRoutingTests {
    @Test("calls reach a service through the broker, round-robin across instances, with the caller's identity stamped")
    func routingAndRoundRobin() async throws {
        let township = try Township()
        let outcome = try await Harness.withBroker(township) { _ in
            try await Harness.withEchoService(township, department: "traffic", instance: "echo-a") { _ in
                try await Harness.withEchoService(township, department: "governance", instance: "echo-b") { _ in
                    try await township.withClient("station", operatorID: "duty-0421") { client in
                        var instances: [String] = []
                        for index in 0..<6 {
                            // A caller cannot claim another department: the broker replaces these.
                            let response = try await client.unary(
                                EchoV1.Echo.echo,
                                EchoV1.EchoRequest(payload: [UInt8(index)], includeMetadata: true),
                                options: CallOptions(metadata: [
                                    "sanlian-department": "governance", "sanlian-operator": "impostor",
                                    "x-case": "\(index)",
                                ])
                            )
                            #expect(response.payload == [UInt8(index)])
                            #expect(response.department == "station")
                            #expect(response.metadata.contains("sanlian-operator=duty-0421"))
                            #expect(!response.metadata.contains("sanlian-operator=impostor"))
                            #expect(response.metadata.contains("sanlian-peer-uid=\(getuid())"))
                            #expect(response.metadata.contains("x-case=\(index)"))
                            instances.append(response.instance)
                        }
                        #expect(instances == ["echo-a", "echo-b", "echo-a", "echo-b", "echo-a", "echo-b"])
                    }
                }
            }
        }
        #expect(outcome.exitedCleanly, "broker stderr: \(outcome.standardError)")
    }

    @Test("no instance: UNAVAILABLE at once; the remaining deadline is forwarded; expired calls are refused")
    func noResponderAndDeadlines() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("station") { client in
                let clock = ContinuousClock()
                let started = clock.now
                await #expect {
                    try await client.unary(
                        HazardsV1.Hazards.get,
                        HazardsV1.GetHazardRequest(id: "h-1"),
                        options: CallOptions(timeout: .seconds(20))
                    )
                } throws: { error in
                    let error = error as? RPCError
                    return error?.code == .unavailable && error!.message.contains("sanlian.hazards.v1.Hazards")
                }
                #expect(clock.now - started < .seconds(2))
            }
            _ = try await Harness.withEchoService(township, instance: "echo") { _ in
                try await township.withClient("station") { client in
                    let response = try await client.unary(
                        EchoV1.Echo.echo,
                        EchoV1.EchoRequest(),
                        options: CallOptions(timeout: .seconds(5))
                    )
                    #expect(
                        response.remainingMicros < 5_000_000,
                        "the service sees the time remaining, not the original"
                    )
                    #expect(response.remainingMicros > 3_000_000)
                    await #expect {
                        try await client.unary(
                            EchoV1.Echo.echo,
                            EchoV1.EchoRequest(delayMs: 3_000),
                            options: CallOptions(timeout: .milliseconds(300))
                        )
                    } throws: { error in
                        (error as? RPCError)?.code == .deadlineExceeded
                    }
                    // The service dropped the expired call too.
                    try await eventually("the service to drop the expired call") {
                        try await client.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 0
                    }
                }
            }
        }
    }

    @Test(
        "a streamed response too large for the caller's frame limit ends the call with RESOURCE_EXHAUSTED and stops the service's handler"
    )
    func oversizeRelayedMessage() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withEchoService(township, instance: "echo") { _ in
                try await township.withClient("station", configure: { $0.connection.maxFrameBytes = 4096 }) { client in
                    #expect(try await oversizeStreamProblems(client, limit: 4096) == [])
                    try await eventually("the service to stop sending") {
                        try await client.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 0
                    }
                    // The connection and the service still serve.
                    let echoed = try await client.unary(EchoV1.Echo.echo, EchoV1.EchoRequest(payload: [1, 2]))
                    #expect(echoed.payload == [1, 2])
                }
            }
        }
    }

    @Test("a caller's cancellation and disconnect reach the service")
    func cancellationPropagates() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withEchoService(township, instance: "echo") { _ in
                try await township.withClient("station") { observer in
                    // Cancellation of a streaming call.
                    try await township.withClient("station") { client in
                        let responses = try await client.serverStream(
                            EchoV1.Echo.stream,
                            EchoV1.EchoRequest(delayMs: 50, count: 10_000),
                            options: CallOptions(timeout: .seconds(60))
                        )
                        var iterator = responses.makeAsyncIterator()
                        _ = try await iterator.next()
                        #expect(try await observer.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 1)
                        responses.cancel()
                        try await eventually("the service to see the cancellation") {
                            try await observer.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 0
                        }
                    }
                    // A caller that disconnects mid-call.
                    try await township.withClient("station") { client in
                        let connection = try await client.connection(deadline: .now + .seconds(5))
                        let call = Task {
                            await connection.call(
                                method: EchoV1.Echo.echo.path,
                                payload: try! EchoV1.EchoRequest(delayMs: 30_000).serializedBytes(),
                                deadline: .now + .seconds(60)
                            )
                        }
                        try await eventually("the call to reach the service") {
                            try await observer.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 1
                        }
                        connection.close()
                        #expect(await call.value.status.code == .unavailable)
                    }
                    try await eventually("the service to see the disconnect") {
                        try await observer.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 0
                    }
                }
            }
        }
    }

    @Test("a service dropping mid-call fails the call with UNAVAILABLE naming the service")
    func serviceDropsMidCall() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("station") { client in
                let (started, starting) = AsyncStream.makeStream(of: Void.self)
                async let result: Result<EchoV1.EchoResponse, RPCError> = {
                    for await _ in started { break }
                    do {
                        return .success(
                            try await client.unary(
                                EchoV1.Echo.echo,
                                EchoV1.EchoRequest(delayMs: 30_000),
                                options: CallOptions(timeout: .seconds(60))
                            )
                        )
                    } catch let error as RPCError {
                        return .failure(error)
                    } catch {
                        return .failure(RPCError(.unknown, "\(error)"))
                    }
                }()
                let echo = try await Harness.withEchoService(township, instance: "doomed") { process in
                    starting.yield()
                    try await eventually("the call to be in flight") {
                        try await client.unary(EchoV1.Echo.active, EchoV1.EchoRequest()).index == 1
                    }
                    try process.kill()
                }
                #expect(echo.status == .signaled(9))
                guard case .failure(let error) = await result else {
                    Issue.record("the call succeeded although its service died")
                    return
                }
                #expect(error.code == .unavailable)
                #expect(error.message.contains("sanlian.echo.v1.Echo"))
            }
        }
    }

    @Test("a service's malformed answer fails that call alone with INTERNAL; its caller's connection serves on")
    func malformedAnswerFailsOneCall() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("station") { client in
                // A service speaking frames by hand, to answer what no runtime would send.
                var service = try await Self.registeredRawEchoService(township)
                async let first = Self.echo(client, [1])
                let started = try await Self.nextStart(&service)
                // A CallEnd whose status (field 1) claims 9 bytes where 2 follow.
                let body = [0x08] + Self.varint(started.callID) + [0x32, 0x04, 0x0A, 0x09, 0x08, 0x05]
                try await service.sendRaw([0, 0, 0, UInt8(body.count)] + body)
                guard case .failure(let error) = await first else {
                    Issue.record("a malformed answer was taken as an answer")
                    return
                }
                #expect(error.message.contains("malformed CallEnd"), "\(error.message)")
                guard error.code == .internal else {
                    Issue.record("the call failed with \(error.code), not INTERNAL: the connection went down with it")
                    return
                }

                // The caller's connection serves on: the next call is answered.
                async let second = Self.echo(client, [2])
                let next = try await Self.nextStart(&service)
                try await service.send(
                    RPCV1.Frame(
                        callID: next.callID,
                        kind: .end(
                            RPCV1.CallEnd(
                                payload: try EchoV1.EchoResponse(payload: [2]).serializedBytes(),
                                hasPayload: true
                            )
                        )
                    )
                )
                #expect(try await second.get().payload == [2])
                await service.close()
            }
        }
    }

    /// A connection to the broker as the traffic department, registered as the Echo service.
    private static func registeredRawEchoService(_ township: Township) async throws -> RawPeer {
        var service = try await RawPeer.connect(township.brokerSocket)
        let welcome = try await service.handshake(
            department: "traffic",
            credential: township.identity("traffic").credential
        )
        guard case .welcome = welcome.kind else { throw RPCError(.unauthenticated, "refused: \(welcome)") }
        let register = BrokerV1.RegisterRequest(
            services: [
                BrokerV1.ServiceDescriptor(
                    name: "sanlian.echo.v1.Echo",
                    methods: [BrokerV1.MethodDescriptor(name: "Echo")]
                )
            ],
            instance: "malformed@test"
        )
        let start = RPCV1.CallStart(
            method: BrokerV1.Broker.registerServices.path,
            timeoutMicros: 10_000_000,
            payload: try register.serializedBytes(),
            halfClose: true
        )
        try await service.send(RPCV1.Frame(callID: 1, kind: .start(start)))
        let registered = try await service.receive()
        guard case .end(let end) = registered.kind, (end.status?.code ?? .ok) == .ok else {
            throw RPCError(.internal, "registration failed: \(registered)")
        }
        return service
    }

    private static func echo(_ client: RPCClient, _ payload: [UInt8]) async -> Result<EchoV1.EchoResponse, RPCError> {
        do {
            return .success(
                try await client.unary(
                    EchoV1.Echo.echo,
                    EchoV1.EchoRequest(payload: payload),
                    options: CallOptions(timeout: .seconds(20))
                )
            )
        } catch {
            return .failure(error)
        }
    }

    /// The next call the broker forwards to a hand-speaking service (pings answered on the way).
    private static func nextStart(_ service: inout RawPeer) async throws -> RPCV1.Frame {
        while true {
            let frame = try await service.receive()
            switch frame.kind {
            case .start: return frame
            case .ping(let ping): try await service.send(RPCV1.Frame(kind: .pong(RPCV1.Ping(nonce: ping.nonce))))
            default: continue
            }
        }
    }

    private static func varint(_ value: UInt32) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }
}
