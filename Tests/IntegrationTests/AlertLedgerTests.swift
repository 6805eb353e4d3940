import AlertLedger
import Foundation
import NIOCore
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Synchronization
import Testing

func alert(
    _ identifier: String,
    subject: String = "alert.hazards.traffic",
    fingerprint: String = "",
    drill: Bool = false
)
    -> AlertV1.Alert
{
    AlertV1.Alert(
        identifier: identifier,
        status: drill ? .exercise : .actual,
        msgType: .alert,
        subject: subject,
        category: .traffic,
        severity: .severe,
        area: CommonV1.Place(villageCode: "511681104201"),
        headline: "G318 道路塌方 \(identifier)",
        fingerprint: fingerprint
    )
}

@Suite("The alert ledger over real processes", .timeLimit(.minutes(3)))
struct AlertLedgerTests {
    @Test(
        "alerts are acknowledged once durable, duplicates stored once, aggregated, and delivered to durable subscribers"
    )
    func publishAggregateSubscribe() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { traffic in
                let first = try await traffic.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert("a-1", fingerprint: "road:G318"))
                )
                #expect(!first.duplicate)
                let again = try await traffic.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert("a-1", fingerprint: "road:G318"))
                )
                #expect(again.duplicate)
                #expect(again.sequence == first.sequence)
                let second = try await traffic.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert("a-2", fingerprint: "road:G318"))
                )
                #expect(second.sequence == first.sequence + 1)
                let drill = try await traffic.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert("d-1", fingerprint: "road:G318", drill: true))
                )
                #expect(drill.sequence == second.sequence + 1)
                await #expect {
                    try await traffic.unary(
                        BrokerV1.Broker.publishAlert,
                        BrokerV1.PublishAlertRequest(alert: AlertV1.Alert(identifier: "", subject: "alert.hazards.x"))
                    )
                } throws: { error in
                    (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("alert.identifier")
                }
            }
            try await township.withClient("station", operatorID: "duty-0421") { station in
                let aggregates = try await station.unary(
                    BrokerV1.Broker.listAggregates,
                    BrokerV1.ListAggregatesRequest()
                )
                let real = try #require(aggregates.aggregates.first { $0.fingerprint == "road:G318" })
                #expect(real.count == 2)
                #expect(real.state == .firing)
                #expect(real.latest?.senderDepartment == "traffic")
                let exercise = try #require(aggregates.aggregates.first { $0.fingerprint == "drill:road:G318" })
                #expect(exercise.drill)
                #expect(exercise.count == 1)

                let acknowledged = try await station.unary(
                    BrokerV1.Broker.acknowledgeAggregate,
                    BrokerV1.AggregateActionRequest(fingerprint: "road:G318")
                )
                #expect(acknowledged.aggregate?.state == .acknowledged)
                #expect(acknowledged.aggregate?.acknowledgedBy == "station/duty-0421")

                // The command room's durable subscription sees every event in order.
                let stream = try await station.serverStream(
                    BrokerV1.Broker.subscribeLedger,
                    BrokerV1.SubscribeLedgerRequest(name: "command-room"),
                    options: CallOptions(timeout: .seconds(60))
                )
                var events: [AlertV1.LedgerEvent] = []
                for try await delivery in stream {
                    events.append(try #require(delivery.event))
                    if events.count == 4 { break }
                }
                #expect(events.map(\.sequence) == Array(1...4))
                #expect(events[2].drill)
                guard case .transition(let transition)? = events[3].body else {
                    Issue.record("expected the acknowledgement as the fourth event")
                    return
                }
                #expect(transition.state == .acknowledged)
                #expect(events[3].subject == "aggregate.hazards.traffic")
            }
        }
    }

    @Test(
        "a subscriber allowing more in flight than one read of the ledger holds gets every matching event once, in order, across the reads"
    )
    func deliveryAcrossLedgerReads() async throws {
        // Two subjects, alternating: the filtered subscription's reads skip half the rows, and
        // it takes more than one read (LedgerSubscriptions.scanPage events each) to fill 4096 in flight.
        let perSubject = 2 * LedgerSubscriptions.scanPage + 76
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { traffic in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<(2 * perSubject) {
                        let subject = index.isMultiple(of: 2) ? "alert.traffic.road" : "alert.hazards.traffic"
                        group.addTask {
                            _ = try await traffic.unary(
                                BrokerV1.Broker.publishAlert,
                                BrokerV1.PublishAlertRequest(alert: alert("page-\(index)", subject: subject))
                            )
                        }
                        if index >= 64 { try await group.next() }
                    }
                    try await group.waitForAll()
                }
                let stream = try await traffic.serverStream(
                    BrokerV1.Broker.subscribeLedger,
                    BrokerV1.SubscribeLedgerRequest(
                        name: "roads",
                        subjectPattern: "alert.traffic.>",
                        maxInFlight: 4096
                    ),
                    options: CallOptions(timeout: .seconds(60))
                )
                var sequences: [UInt64] = []
                for try await delivery in stream {
                    let event = try #require(delivery.event)
                    #expect(event.subject == "alert.traffic.road")
                    #expect(delivery.attempt == 1)
                    sequences.append(event.sequence)
                    if sequences.count == perSubject { break }
                }
                #expect(sequences == sequences.sorted())
                #expect(Set(sequences).count == perSubject)
            }
        }
    }

    @Test("unacknowledged events are redelivered, dead-lettered after the limit, and can be redriven")
    func redeliveryAndDeadLetters() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await township.withClient("traffic") { traffic in
                _ = try await traffic.unary(
                    BrokerV1.Broker.publishAlert,
                    BrokerV1.PublishAlertRequest(alert: alert("r-1"))
                )
            }
            try await township.withClient("station") { station in
                let stream = try await station.serverStream(
                    BrokerV1.Broker.subscribeLedger,
                    // Three seconds to acknowledge: a loaded test run can take one between an event
                    // arriving and its acknowledgement.
                    BrokerV1.SubscribeLedgerRequest(name: "flaky", ackTimeoutSeconds: 3, maxDeliveries: 2),
                    options: CallOptions(timeout: .seconds(60))
                )
                var iterator = stream.makeAsyncIterator()
                let first = try #require(try await iterator.next())
                #expect(first.attempt == 1)
                let second = try #require(try await iterator.next())
                #expect(second.event?.sequence == first.event?.sequence)
                #expect(second.attempt == 2)
                try await eventually("the event to be dead-lettered") {
                    let dead = try await station.unary(
                        BrokerV1.Broker.listDeadLetters,
                        BrokerV1.ListDeadLettersRequest(subscription: "flaky")
                    )
                    return dead.deadLetters.map(\.sequence) == [1]
                }
                let redriven = try await station.unary(
                    BrokerV1.Broker.redriveDeadLetters,
                    BrokerV1.RedriveDeadLettersRequest(subscription: "flaky")
                )
                #expect(redriven.redriven == 1)
                let third = try #require(try await iterator.next())
                #expect(third.event?.sequence == 1)
                #expect(third.attempt == 1)
                let ack = try await station.unary(
                    BrokerV1.Broker.ackLedger,
                    BrokerV1.AckLedgerRequest(name: "flaky", sequences: [1])
                )
                #expect(ack.acknowledgedThrough >= 1)
                let dead = try await station.unary(
                    BrokerV1.Broker.listDeadLetters,
                    BrokerV1.ListDeadLettersRequest(subscription: "flaky")
                )
                #expect(dead.deadLetters.isEmpty)
            }
        }
    }

    @Test(
        "a subscriber that goes away without acknowledging spends the event's deliveries: the next connection counts on, and the event is dead-lettered once they are spent"
    )
    func deliveriesCountAcrossConnections() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            @Sendable func publish(_ identifier: String) async throws {
                try await township.withClient("traffic") { traffic in
                    _ = try await traffic.unary(
                        BrokerV1.Broker.publishAlert,
                        BrokerV1.PublishAlertRequest(alert: alert(identifier))
                    )
                }
            }
            try await publish("p-1")
            // The ack timeout is long: only the connections going away make the deliveries count.
            let request = BrokerV1.SubscribeLedgerRequest(name: "poisoned", ackTimeoutSeconds: 600, maxDeliveries: 2)
            /// A new connection subscribes and takes its first delivery; `then` runs while the
            /// subscription is open, and the connection goes when it returns.
            @Sendable func subscriber(
                _ then: @escaping @Sendable (RPCClient, BrokerV1.LedgerDelivery) async throws -> Void
            ) async throws {
                try await township.withClient("station") { station in
                    let stream = try await station.serverStream(
                        BrokerV1.Broker.subscribeLedger,
                        request,
                        options: CallOptions(timeout: .seconds(60))
                    )
                    var iterator = stream.makeAsyncIterator()
                    try await then(station, try #require(try await iterator.next()))
                }
            }
            /// Subscribers that fail on event 1, each taking it and going: its deliveries 1 and 2.
            @Sendable func failTwiceOnTheFirstEvent() async throws {
                for expected: UInt32 in 1...2 {
                    try await subscriber { _, delivery in
                        #expect(delivery.event?.sequence == 1)
                        #expect(delivery.attempt == expected)
                    }
                }
            }
            try await failTwiceOnTheFirstEvent()
            try await publish("p-2")
            try await subscriber { station, delivery in
                #expect(delivery.event?.sequence == 2)
                #expect(delivery.attempt == 1)
                let dead = try await station.unary(
                    BrokerV1.Broker.listDeadLetters,
                    BrokerV1.ListDeadLettersRequest(subscription: "poisoned")
                )
                #expect(dead.deadLetters.map(\.sequence) == [1])
                #expect(dead.deadLetters.first?.attempts == 2)
                let ack = try await station.unary(
                    BrokerV1.Broker.ackLedger,
                    BrokerV1.AckLedgerRequest(name: "poisoned", sequences: [2])
                )
                #expect(ack.acknowledgedThrough == 2)
            }
            // Redriven, the dead letter counts its deliveries afresh, and across connections too,
            // although it now sits below the resume point.
            try await township.withClient("station") { station in
                let redriven = try await station.unary(
                    BrokerV1.Broker.redriveDeadLetters,
                    BrokerV1.RedriveDeadLettersRequest(subscription: "poisoned")
                )
                #expect(redriven.redriven == 1)
            }
            try await failTwiceOnTheFirstEvent()
            try await publish("p-3")
            try await subscriber { station, delivery in
                #expect(delivery.event?.sequence == 3)
                let dead = try await station.unary(
                    BrokerV1.Broker.listDeadLetters,
                    BrokerV1.ListDeadLettersRequest(subscription: "poisoned")
                )
                #expect(dead.deadLetters.map(\.sequence) == [1])
                #expect(dead.deadLetters.first?.attempts == 2)
            }
        }
    }

    @Test(
        "SIGKILL the broker mid-burst, restart: every acknowledged alert is stored exactly once, the subscriber resumes without gap or duplicate"
    )
    func durabilityAcrossCrashes() async throws {
        let township = try Township()
        let acknowledged = Locked<[String: UInt64]>([:])
        var next = 0
        for round in 0..<3 {
            let start = next
            // Kill after a random number of publishes, while more are in flight.
            let killAfter = acknowledged.value.count + Int.random(in: 20...120)
            let outcome = try await Harness.withBroker(township) { broker in
                try await township.withClient("traffic") { traffic in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for lane in 0..<4 {
                            group.addTask {
                                var index = start + lane
                                while true {
                                    let identifier = "burst-\(index)"
                                    do {
                                        let receipt = try await traffic.unary(
                                            BrokerV1.Broker.publishAlert,
                                            BrokerV1.PublishAlertRequest(
                                                alert: alert(identifier, fingerprint: "f-\(index % 7)")
                                            ),
                                            options: CallOptions(timeout: .seconds(5))
                                        )
                                        acknowledged.withLock { $0[identifier] = receipt.sequence }
                                    } catch {
                                        return  // the broker is gone
                                    }
                                    index += 4
                                    if acknowledged.withLock({ $0.count }) >= killAfter { try broker.kill() }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
            #expect(outcome.status == .signaled(9), "round \(round): the broker was killed")
            next = start + 10_000
        }
        let stored = acknowledged.withLock { $0 }
        #expect(stored.count > 60)
        // Restart once more and read everything back through a durable subscription, acking as we
        // go; then crash and resume, and check the sequence has no gap and no duplicate.
        let seen = Locked<[UInt64]>([])
        let received = Locked<[String]>([])
        for round in 0..<2 {
            _ = try await Harness.withBroker(township) { broker in
                try await township.withClient("station") { station in
                    // Alerts committed just before a kill are in the ledger although never acknowledged.
                    let last = try await station.unary(
                        BrokerV1.Broker.readLedger,
                        BrokerV1.ReadLedgerRequest(fromSequence: 1, limit: 1)
                    ).lastSequence
                    #expect(last >= UInt64(stored.count))
                    let stream = try await station.serverStream(
                        BrokerV1.Broker.subscribeLedger,
                        BrokerV1.SubscribeLedgerRequest(name: "command-room"),
                        options: CallOptions(timeout: .seconds(60))
                    )
                    var count = 0
                    for try await delivery in stream {
                        let event = try #require(delivery.event)
                        // A consumer records an event once its acknowledgement is confirmed.
                        _ = try await station.unary(
                            BrokerV1.Broker.ackLedger,
                            BrokerV1.AckLedgerRequest(name: "command-room", sequences: [event.sequence])
                        )
                        seen.withLock { $0.append(event.sequence) }
                        if case .alert(let alert)? = event.body { received.withLock { $0.append(alert.identifier) } }
                        count += 1
                        if round == 0, count == stored.count / 2 {
                            try broker.kill()
                            return
                        }
                        if round == 1, seen.withLock({ $0.count }) == Int(last) { return }
                    }
                }
            }
        }
        let sequences = seen.withLock { $0 }
        #expect(sequences == Array(1...UInt64(sequences.count)), "no gap, no duplicate, in order")
        let identifiers = received.withLock { $0 }
        #expect(Set(identifiers).count == identifiers.count, "every alert stored exactly once")
        let missing = Set(stored.keys).subtracting(identifiers)
        #expect(missing.isEmpty, "acknowledged alerts missing after the crashes: \(missing.sorted().prefix(10))")
        let misplaced = stored.filter { $0.value > UInt64(sequences.count) }
        #expect(misplaced.isEmpty, "acknowledged sequences beyond the ledger: \(misplaced.prefix(10))")
    }
}
