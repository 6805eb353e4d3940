import Foundation
import NIOCore
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// The broker, a real process, driven as a careless or hostile client would drive it: strings
/// with a NUL byte, lists longer than a page, alerts as large as the limits allow, and a caller
/// that never reads its answers.
@Suite("The broker under hostile and careless clients", .timeLimit(.minutes(3)))
struct BrokerHostileClientTests {
    static func alert(_ identifier: String, headline: String = "路面塌陷") -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: identifier,
            status: .actual,
            subject: "alert.hazards.traffic",
            category: .traffic,
            severity: .severe,
            headline: headline,
            fingerprint: "fp-\(identifier)"
        )
    }

    /// A PublishAlert call with `payload` as its request, as the traffic office.
    static func publishRaw(_ client: RPCClient, _ payload: [UInt8]) async throws -> CallOutcome {
        try await client.call(
            method: BrokerV1.Broker.publishAlert.path,
            payload: payload,
            deadline: .now + .seconds(10)
        )
    }

    @Test("a string with a NUL byte is refused naming the field, never stored cut short")
    func nulInStrings() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { client in
                for (identifier, headline, field) in [
                    ("a#one", "正常", "alert.identifier"), ("a#two", "正常", "alert.identifier"),
                    ("head-1", "head#tail", "alert.headline"),
                ] {
                    let encoded = try BrokerV1.PublishAlertRequest(alert: Self.alert(identifier, headline: headline))
                        .serializedBytes()
                    let marked = identifier.contains("#") ? identifier : headline
                    let payload = try #require(withNUL(marked, at: "#", in: encoded))
                    let outcome = try await Self.publishRaw(client, payload)
                    #expect(outcome.status.code == .invalidArgument, "\(outcome.status)")
                    #expect(
                        outcome.status.message.contains("\(field) contains a NUL byte"),
                        "\(outcome.status.message)"
                    )
                }
            }
            try await township.withClient("station") { client in
                let stored = try await client.unary(
                    BrokerV1.Broker.readLedger,
                    BrokerV1.ReadLedgerRequest(fromSequence: 1)
                )
                #expect(stored.events.isEmpty, "\(stored.events)")
            }

            // A Hello naming "station\0anything" is refused, not taken as the station.
            let credential = try township.identity("station").credential
            var peer = try await RawPeer.connect(township.brokerSocket)
            let hello = RPCV1.Frame(
                kind: .hello(RPCV1.Hello(protocolVersion: 1, department: "station#anything", credential: credential))
            )
            var helloBytes = ByteBuffer()
            try helloBytes.writeFrame(hello)
            try await peer.sendRaw(
                try #require(withNUL("station#anything", at: "#", in: Array(helloBytes.readableBytesView)))
            )
            let refusal = try await peer.receive()
            guard case .goAway(let goAway) = refusal.kind else {
                Issue.record("expected a GoAway, got \(refusal)")
                return
            }
            #expect(goAway.status?.code == .invalidArgument)
            #expect(goAway.status?.message.contains("hello.department contains a NUL byte") == true)
            await peer.close()

            // A call to "/sanlian.echo.v1.Echo/Echo\0junk" is refused, not routed to Echo/Echo; the
            // connection serves on.
            var caller = try await RawPeer.connect(township.brokerSocket)
            guard case .welcome = try await caller.handshake(department: "station", credential: credential).kind else {
                Issue.record("the station's handshake was refused")
                return
            }
            let call = RPCV1.Frame(
                callID: 1,
                kind: .start(
                    RPCV1.CallStart(
                        method: "/sanlian.echo.v1.Echo/Echo#junk",
                        timeoutMicros: 5_000_000,
                        halfClose: true
                    )
                )
            )
            var callBytes = ByteBuffer()
            try callBytes.writeFrame(call)
            try await caller.sendRaw(
                try #require(withNUL("Echo#junk", at: "#", in: Array(callBytes.readableBytesView)))
            )
            let answer = try await caller.receive()
            guard case .end(let end) = answer.kind else {
                Issue.record("expected the call to end, got \(answer)")
                return
            }
            #expect(answer.callID == 1)
            #expect(end.status?.code == .invalidArgument)
            #expect(
                end.status?.message.contains("method contains a NUL byte") == true,
                "\(String(describing: end.status))"
            )
            try await caller.send(
                RPCV1.Frame(
                    callID: 3,
                    kind: .start(
                        RPCV1.CallStart(method: HealthV1.Health.check.path, timeoutMicros: 5_000_000, halfClose: true)
                    )
                )
            )
            let health = try await caller.receive()
            #expect(health.callID == 3)
            if case .end(let end) = health.kind { #expect(end.status?.code == .ok) }
            await caller.close()
        }
    }

    @Test("ListAggregates honours page size and token, counts the total, and walks every aggregate once in order")
    func aggregatesPage() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let severities: [AlertV1.Severity] = [.minor, .extreme, .moderate, .severe, .unknown, .severe]
            try await township.withClient("traffic") { client in
                for index in 0..<12 {
                    var alert = Self.alert("page-\(index)")
                    alert.severity = severities[index % severities.count]
                    alert.area = CommonV1.Place(villageCode: index < 6 ? "511681104201" : "511681104202")
                    _ = try await client.unary(BrokerV1.Broker.publishAlert, BrokerV1.PublishAlertRequest(alert: alert))
                }
            }
            try await township.withClient("station") { client in
                _ = try await client.unary(
                    BrokerV1.Broker.acknowledgeAggregate,
                    BrokerV1.AggregateActionRequest(fingerprint: "fp-page-1")
                )
                _ = try await client.unary(
                    BrokerV1.Broker.resolveAggregate,
                    BrokerV1.AggregateActionRequest(fingerprint: "fp-page-3")
                )
                var token = ""
                var seen: [AlertV1.Aggregate] = []
                var pages = 0
                repeat {
                    let page = try await client.unary(
                        BrokerV1.Broker.listAggregates,
                        BrokerV1.ListAggregatesRequest(page: CommonV1.PageRequest(pageSize: 2, pageToken: token))
                    )
                    #expect(page.aggregates.count <= 2)
                    #expect(page.page?.total == 12)
                    seen += page.aggregates
                    token = page.page?.nextPageToken ?? ""
                    pages += 1
                } while !token.isEmpty && pages < 20
                #expect(pages == 6)
                #expect(Set(seen.map(\.fingerprint)).count == 12 && seen.count == 12)
                // Firing first, the most severe first within a state; acknowledged, then resolved, last.
                #expect(seen.map(\.state).suffix(2) == [.acknowledged, .resolved])
                let firing = seen.prefix(10).map { AggregationOrder.rank($0.latest?.severity ?? .unknown) }
                #expect(firing == firing.sorted(), "\(seen.map(\.fingerprint))")

                let filtered = try await client.unary(
                    BrokerV1.Broker.listAggregates,
                    BrokerV1.ListAggregatesRequest(
                        severities: [.severe],
                        departments: ["traffic"],
                        villageCodes: ["511681104201"]
                    )
                )
                #expect(Set(filtered.aggregates.map(\.fingerprint)) == ["fp-page-3", "fp-page-5"])
                #expect(filtered.page?.total == 2 && filtered.page?.nextPageToken == "")

                await #expect {
                    try await client.unary(
                        BrokerV1.Broker.listAggregates,
                        BrokerV1.ListAggregatesRequest(page: CommonV1.PageRequest(pageToken: "bm90LWEtdG9rZW4"))
                    )
                } throws: { error in
                    (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("page.page_token")
                }
            }
        }
    }

    @Test("every field has a limit; the largest accepted alerts stay readable, the answers cut to fit the frame")
    func largeAlertsStayReadable() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { client in
                var huge = Self.alert("huge")
                huge.instruction = String(repeating: "x", count: 600_000)
                await #expect {
                    try await client.unary(BrokerV1.Broker.publishAlert, BrokerV1.PublishAlertRequest(alert: huge))
                } throws: { error in
                    (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("alert.instruction")
                }
                for field in ["event", "parameters", "area.description", "references"] {
                    var alert = Self.alert("too-long-\(field)")
                    switch field {
                    case "event": alert.event = String(repeating: "e", count: 65)
                    case "parameters":
                        alert.parameters = (0..<33).map { CommonV1.KeyValue(key: "k\($0)", value: "v") }
                    case "area.description":
                        alert.area = CommonV1.Place(description: String(repeating: "路", count: 201))
                    default: alert.references = (0..<17).map { "r\($0)" }
                    }
                    await #expect {
                        try await client.unary(BrokerV1.Broker.publishAlert, BrokerV1.PublishAlertRequest(alert: alert))
                    } throws: { error in
                        (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("alert.\(field)")
                    }
                }
                // Sixty alerts about as large as the limits allow: 1.5 MB, more than a frame.
                for index in 0..<60 {
                    var alert = Self.alert("large-\(index)")
                    alert.description = String(repeating: "路面塌陷，", count: 800)
                    alert.instruction = String(repeating: "绕行", count: 500)
                    alert.parameters = (0..<32).map {
                        CommonV1.KeyValue(key: "key-\($0)", value: String(repeating: "值", count: 100))
                    }
                    let receipt = try await client.unary(
                        BrokerV1.Broker.publishAlert,
                        BrokerV1.PublishAlertRequest(alert: alert)
                    )
                    #expect(!receipt.duplicate)
                }
            }
            try await township.withClient("station") { client in
                var from: UInt64 = 1
                var read: [UInt64] = []
                var answers = 0
                while answers < 50 {
                    let answer = try await client.unary(
                        BrokerV1.Broker.readLedger,
                        BrokerV1.ReadLedgerRequest(fromSequence: from, limit: 1000)
                    )
                    answers += 1
                    read += answer.events.map(\.sequence)
                    from = answer.nextFromSequence
                    if from > answer.lastSequence { break }
                    #expect(!answer.events.isEmpty)
                }
                #expect(read == Array(1...60))
                #expect(answers > 1, "sixty large alerts came in one answer")

                var token = ""
                var fingerprints: [String] = []
                repeat {
                    let page = try await client.unary(
                        BrokerV1.Broker.listAggregates,
                        BrokerV1.ListAggregatesRequest(page: CommonV1.PageRequest(pageSize: 1000, pageToken: token))
                    )
                    #expect(page.page?.total == 60)
                    fingerprints += page.aggregates.map(\.fingerprint)
                    token = page.page?.nextPageToken ?? ""
                } while !token.isEmpty && fingerprints.count < 100
                #expect(Set(fingerprints).count == 60 && fingerprints.count == 60)
            }
            // A client that accepts only 64 KiB frames reads one page at a time as well.
            try await township.withClient("station", configure: { $0.connection.maxFrameBytes = 64 * 1024 }) { client in
                let answer = try await client.unary(
                    BrokerV1.Broker.readLedger,
                    BrokerV1.ReadLedgerRequest(fromSequence: 1, limit: 1000)
                )
                #expect((1...2).contains(answer.events.count), "\(answer.events.count) events")
                #expect(answer.nextFromSequence == UInt64(answer.events.count) + 1)
            }
        }
    }
}

/// The severity order of the command room's list, as the broker documents it.
enum AggregationOrder {
    static func rank(_ severity: AlertV1.Severity) -> Int {
        [.extreme, .severe, .moderate, .minor, .unknown].firstIndex(of: severity) ?? 5
    }
}

@Suite("The broker and a caller that never reads its answers", .timeLimit(.minutes(3)))
struct BrokerUnreadAnswersTests {
    @Test(
        "calls written without reading the answers stop being read, the broker's memory stays bounded, and the caller is given up with a GoAway"
    )
    func callerThatNeverReads() async throws {
        let township = try Township(compose: {
            $0.replacingOccurrences(of: "output_stall_seconds: 30", with: "output_stall_seconds: 2")
        })
        _ = try await Harness.withBroker(township) { broker in
            try await Harness.withEchoService(township, instance: "echo") { _ in
                let credential = try township.identity("station").credential
                let careless = try RawSocket(connectingTo: township.brokerSocket)
                let hello = try RPCV1.Frame(
                    kind: .hello(RPCV1.Hello(protocolVersion: 1, department: "station", credential: credential))
                ).lengthPrefixed()
                _ = try careless.writeSome(hello, from: 0)
                guard case .welcome = try careless.readFrame().kind else {
                    Issue.record("the handshake was refused")
                    return
                }
                // 60,000 echo calls of 4 KB, written as fast as the broker takes them, none read.
                let request = try EchoV1.EchoRequest(payload: Array(repeating: 7, count: 4096)).serializedBytes()
                var written = 0
                flood: for index in 0..<60_000 {
                    let frame = try RPCV1.Frame(
                        callID: UInt32(2 * index + 1),
                        kind: .start(
                            RPCV1.CallStart(
                                method: EchoV1.Echo.echo.path,
                                timeoutMicros: 120_000_000,
                                payload: request,
                                halfClose: true
                            )
                        )
                    ).lengthPrefixed()
                    var offset = 0
                    while offset < frame.count {
                        offset = try careless.writeSome(frame, from: offset)
                        if offset < frame.count, !careless.waitWritable(timeout: .seconds(1)) { break flood }
                    }
                    written += 1
                }
                #expect(written < 60_000, "the broker read every call of a caller that reads nothing")
                try await broker.waitForLog("Pausing reads: the peer does not read its answers")
                let peak = try #require(broker.peakResidentBytes)
                print(
                    "broker peak RSS with a caller that never reads (\(written) calls of 4 KB read): \(peak / 1024) KiB"
                )
                #expect(peak < 96 << 20, "the broker grew to \(peak / 1024) KiB")

                // Others are served meanwhile.
                try await township.withClient("traffic") { client in
                    let echo = try await client.unary(EchoV1.Echo.echo, EchoV1.EchoRequest(payload: [1, 2, 3]))
                    #expect(echo.payload == [1, 2, 3])
                    // The caller's uid as the broker stamped it, not the broker's own.
                    #expect(echo.peerUID == getuid())
                }

                try await broker.waitForLog("Closing a connection whose peer does not read its answers")
                let frames = try careless.readFramesUntilClosed()
                guard case .goAway(let goAway)? = frames.last?.kind else {
                    Issue.record("the last of \(frames.count) frames is no GoAway: \(String(describing: frames.last))")
                    return
                }
                #expect(goAway.status?.code == .resourceExhausted)
                #expect(
                    goAway.status?.message.contains("unsent answers") == true,
                    "\(String(describing: goAway.status))"
                )
            }
        }
    }
}
