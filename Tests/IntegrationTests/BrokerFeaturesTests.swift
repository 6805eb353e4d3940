import Foundation
import HazardsContract
import NIOCore
import ResidentsContract
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

@Suite("Broker publish/subscribe, replay and health over real processes", .timeLimit(.minutes(2)))
struct BrokerFeaturesTests {
    @Test("ephemeral publish/subscribe with * and > wildcards, stamped with the publisher's department")
    func publishSubscribe() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("station") { station in
                let everything = try await station.serverStream(
                    BrokerV1.Broker.subscribe,
                    BrokerV1.SubscribeRequest(subjectPattern: "notice.>"),
                    options: CallOptions(timeout: .seconds(30))
                )
                let oneLevel = try await station.serverStream(
                    BrokerV1.Broker.subscribe,
                    BrokerV1.SubscribeRequest(subjectPattern: "notice.*.loudspeaker"),
                    options: CallOptions(timeout: .seconds(30))
                )
                try await eventually("both subscriptions to be registered") {
                    let probe = try await station.unary(
                        BrokerV1.Broker.publish,
                        BrokerV1.PublishRequest(subject: "notice.probe.loudspeaker", payload: [0])
                    )
                    return probe.deliveredTo == 2
                }
                let sent = try await station.unary(
                    BrokerV1.Broker.publish,
                    BrokerV1.PublishRequest(subject: "notice.village.sms", payload: Array("停水通知".utf8))
                )
                #expect(sent.deliveredTo == 1)
                var all = everything.makeAsyncIterator()
                var deliveries: [BrokerV1.Delivery] = []
                while let delivery = try await all.next() {
                    deliveries.append(delivery)
                    if delivery.subject == "notice.village.sms" { break }
                }
                #expect(deliveries.last?.payload == Array("停水通知".utf8))
                #expect(deliveries.last?.publisherDepartment == "station")
                var narrow = oneLevel.makeAsyncIterator()
                #expect(try await narrow.next()?.subject == "notice.probe.loudspeaker")
                await #expect {
                    try await station.unary(BrokerV1.Broker.publish, BrokerV1.PublishRequest(subject: "notice.*"))
                } throws: { error in
                    (error as? RPCError)?.code == .invalidArgument
                }
            }
        }
    }

    @Test("a durable subscription replays from a sequence or from a time")
    func replay() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { traffic in
                for index in 1...5 {
                    _ = try await traffic.unary(
                        BrokerV1.Broker.publishAlert,
                        BrokerV1.PublishAlertRequest(
                            alert: AlertV1.Alert(
                                identifier: "r-\(index)",
                                status: .actual,
                                subject: "alert.hazards.traffic",
                                headline: "落石 \(index)"
                            )
                        )
                    )
                }
            }
            try await township.withClient("station") { station in
                func firstSequences(_ start: BrokerV1.StartPosition, name: String) async throws -> [UInt64] {
                    let stream = try await station.serverStream(
                        BrokerV1.Broker.subscribeLedger,
                        BrokerV1.SubscribeLedgerRequest(name: name, start: start),
                        options: CallOptions(timeout: .seconds(30))
                    )
                    var sequences: [UInt64] = []
                    for try await delivery in stream {
                        sequences.append(delivery.event?.sequence ?? 0)
                        if sequences.last == 5 { break }
                    }
                    return sequences
                }
                #expect(
                    try await firstSequences(BrokerV1.StartPosition(position: .fromSequence(3)), name: "from-3") == [
                        3, 4, 5,
                    ]
                )
                let all = try await station.unary(
                    BrokerV1.Broker.readLedger,
                    BrokerV1.ReadLedgerRequest(fromSequence: 1, limit: 10)
                )
                let fourth = try #require(all.events.first { $0.sequence == 4 })
                let fromTime = try await firstSequences(
                    BrokerV1.StartPosition(position: .fromUnixMs(fourth.recordedUnixMs)),
                    name: "from-time"
                )
                #expect(fromTime.first! <= 4)
                #expect(fromTime.last == 5)
            }
        }
    }

    @Test("an unacknowledged aggregate escalates on the broker's timer, per the compose file's severity times")
    func escalationOverRealBroker() async throws {
        let township = try Township(compose: {
            $0.replacingOccurrences(of: "  extreme: 5m", with: "  extreme: 1s")
                .replacingOccurrences(of: "  escalation_check_seconds: 10", with: "  escalation_check_seconds: 1")
        })
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { traffic in
                _ = try await traffic.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(
                        alert: AlertV1.Alert(
                            identifier: "fire-1",
                            status: .actual,
                            subject: "alert.hazards.fire",
                            severity: .extreme,
                            headline: "厂房起火",
                            fingerprint: "fire:plant-3"
                        )
                    )
                )
            }
            try await township.withClient("station") { station in
                let stream = try await station.serverStream(
                    BrokerV1.Broker.subscribeLedger,
                    BrokerV1.SubscribeLedgerRequest(name: "escalations", subjectPattern: "escalation.>"),
                    options: CallOptions(timeout: .seconds(30))
                )
                var events = stream.makeAsyncIterator()
                let first = try #require(try await events.next()?.event)
                guard case .escalation(let escalation)? = first.body else {
                    Issue.record("expected an escalation, got \(first)")
                    return
                }
                #expect(escalation.fingerprint == "fire:plant-3")
                #expect(escalation.level >= 1)
                #expect(first.subject == "escalation.hazards.fire")
                // Acknowledged, it escalates no further.
                _ = try await station.unary(
                    BrokerV1.Broker.acknowledgeAggregate,
                    BrokerV1.AggregateActionRequest(fingerprint: "fire:plant-3")
                )
                let aggregates = try await station.unary(
                    BrokerV1.Broker.listAggregates,
                    BrokerV1.ListAggregatesRequest()
                )
                #expect(aggregates.aggregates.first { $0.fingerprint == "fire:plant-3" }?.state == .acknowledged)
            }
        }
    }

    @Test(
        "health: the broker serves, a service some department may serve is NOT_SERVING until an instance registers, Watch follows it"
    )
    func health() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("station") { station in
                let hazards = try await station.unary(
                    HealthV1.Health.check,
                    HealthV1.HealthCheckRequest(service: HazardsV1.Hazards.name)
                )
                #expect(hazards.status == .notServing)
                await #expect {
                    try await station.unary(
                        HealthV1.Health.check,
                        HealthV1.HealthCheckRequest(service: "no.such.Service")
                    )
                } throws: { error in
                    (error as? RPCError)?.code == .notFound
                }
                let watch = try await station.serverStream(
                    HealthV1.Health.watch,
                    HealthV1.HealthCheckRequest(service: EchoV1.Echo.name),
                    options: CallOptions(timeout: .seconds(60))
                )
                let seen = Locked<[HealthV1.ServingStatus]>([])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await response in watch { seen.withLock { $0.append(response.status) } }
                    }
                    // The echo service is one a department may serve (compose file): known, if not served yet.
                    try await eventually("the first status") { seen.value == [.notServing] }
                    _ = try await Harness.withEchoService(township, instance: "echo") { _ in
                        try await eventually("SERVING once an instance registers") { seen.value.last == .serving }
                    }
                    try await eventually("the status to fall back when the instance leaves") {
                        seen.value == [.notServing, .serving, .notServing]
                    }
                    watch.cancel()
                    group.cancelAll()
                }
            }
        }
    }
}
