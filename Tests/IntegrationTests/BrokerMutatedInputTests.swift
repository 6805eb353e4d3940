import NIOCore
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Testing

/// The broker, a real process with the echo service behind it, fed hundreds of connections that
/// send a mutated session (its handshake too, one in four): alerts, calls routed to the echo
/// service, a stream with its window, a publish, a durable subscription and an ack, a cancel, a
/// ping.
@Suite("The broker fed mutated sessions", .timeLimit(.minutes(2)))
struct BrokerMutatedInputTests {
    static func session() throws -> [UInt8] {
        let echo = try EchoV1.EchoRequest(payload: [1, 2, 3]).serializedBytes()
        func start(_ id: UInt32, _ method: String, _ payload: [UInt8], window: UInt32 = 0) -> RPCV1.Frame {
            RPCV1.Frame(
                callID: id,
                kind: .start(
                    RPCV1.CallStart(
                        method: method,
                        timeoutMicros: 10_000_000,
                        metadata: [RPCV1.MetadataEntry(key: "x-case", value: "fuzz")],
                        payload: payload,
                        halfClose: true,
                        initialWindow: window
                    )
                )
            )
        }
        var bytes = ByteBuffer()
        for frame in [
            start(
                1,
                BrokerV1.Broker.publishAlert.path,
                try BrokerV1.PublishAlertRequest(alert: alert("fuzz-1")).serializedBytes()
            ),
            start(3, EchoV1.Echo.echo.path, echo),
            start(
                5,
                EchoV1.Echo.stream.path,
                try EchoV1.EchoRequest(payload: [4], count: 3).serializedBytes(),
                window: 1
            ),
            RPCV1.Frame(callID: 5, kind: .windowUpdate(RPCV1.WindowUpdate(messages: 1))),
            start(
                7,
                BrokerV1.Broker.publish.path,
                try BrokerV1.PublishRequest(subject: "alert.hazards.fuzz", payload: [1]).serializedBytes()
            ),
            start(9, BrokerV1.Broker.listServices.path, []),
            start(
                11,
                BrokerV1.Broker.subscribeLedger.path,
                try BrokerV1.SubscribeLedgerRequest(name: "fuzz", subjectPattern: "alert.>", maxInFlight: 4)
                    .serializedBytes(),
                window: 4
            ),
            start(
                13,
                BrokerV1.Broker.ackLedger.path,
                try BrokerV1.AckLedgerRequest(name: "fuzz", sequences: [1]).serializedBytes()
            ),
            RPCV1.Frame(callID: 5, kind: .cancel(RPCV1.Cancel(reason: "enough"))),
            RPCV1.Frame(kind: .ping(RPCV1.Ping(nonce: 1))),
        ] {
            try bytes.writeFrame(frame)
        }
        return Array(bytes.readableBytesView)
    }

    @Test("no crash, only well-formed frames back, and it serves on and stops cleanly afterwards")
    func mutatedSessions() async throws {
        let township = try Township()
        let outcome = try await Harness.withBroker(township) { _ in
            try await Harness.withEchoService(township, instance: "echo") { _ in
                let credential = try township.identity("traffic").credential
                let session = try Self.session()
                var generator = SplitMix64(seed: 20_261_129)
                var undecodable = 0
                var answered = 0
                var hello = ByteBuffer()
                try hello.writeFrame(
                    RPCV1.Frame(
                        kind: .hello(RPCV1.Hello(protocolVersion: 1, department: "traffic", credential: credential))
                    )
                )
                for round in 0..<300 {
                    var peer = try await RawPeer.connect(township.brokerSocket)
                    var input = session
                    if round % 4 == 0 {
                        // The handshake mutated too, one connection in four.
                        input = Array(hello.readableBytesView) + session
                    } else {
                        let welcome = try await peer.handshake(department: "traffic", credential: credential)
                        guard case .welcome = welcome.kind else {
                            Issue.record("the broker refused a valid handshake: \(welcome)")
                            return
                        }
                    }
                    // The broker may close the connection before it has all of it (a GoAway for a
                    // malformed frame); at the end of the stream it closes it, calls and all.
                    try? await peer.sendRaw(mutated(input, maxEdits: 4, using: &generator))
                    try? await peer.finishSending()
                    let received = await peer.receiveUntilClosed()
                    undecodable += peer.undecodableFrames
                    if received.contains(where: { if case .end = $0.kind { true } else { false } }) { answered += 1 }
                }
                #expect(undecodable == 0, "the broker sent frames that do not decode")
                // Most sessions keep some call intact enough to be answered.
                #expect(answered > 100)
                try await township.withClient("station") { client in
                    let echoed = try await client.unary(EchoV1.Echo.echo, EchoV1.EchoRequest(payload: [9]))
                    #expect(echoed.payload == [9])
                }
            }
        }
        #expect(outcome.status == .exited(0))
    }
}
