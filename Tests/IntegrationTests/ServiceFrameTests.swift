import Foundation
import GRDB
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// What every department service shares, over real processes: the stand-in services built on
/// the frame (Front by the traffic office, Back by comprehensive governance) and the broker.
@Suite("The department service frame over real processes", .timeLimit(.minutes(3)))
struct ServiceFrameTests {
    /// The traffic office's stand-in alerts in the ledger, in order: their identifiers.
    static func recordedAlerts(_ township: Township) async throws -> [String] {
        try await township.ledgerAlertIdentifiers("alert.traffic.standin")
    }

    static func record(_ client: RPCClient, _ key: String, crash: Bool = false) async throws {
        _ = try await StandinV1.FrontClient(client, options: CallOptions(timeout: .seconds(10)))
            .record(StandinV1.RecordRequest(key: key, crashAfterCommit: crash))
    }

    @Test("a change committed while the broker is down is in the ledger exactly once after it starts")
    func committedWhileBrokerDown() async throws {
        let township = try Township(compose: Township.withStandins)
        _ = try await Harness.withBroker(township) { first in
            try await Harness.withService(township, "sanlian-standin-front") { _ in
                try await township.withClient("station") { try await Self.record($0, "k1") }
                try await eventually("k1 in the ledger") { try await Self.recordedAlerts(township) == ["record-k1"] }
                try first.kill()
                // Another process commits a change and its alert while the broker is down (an
                // import, say): the service's relay finds it in the database.
                let database = try DatabaseQueue(path: township.stateDirectory + "/data/standin-front.sqlite")
                try await database.write { db in
                    try db.execute(sql: "INSERT INTO records (key, headline) VALUES ('k2', 'offline')")
                    let alert = AlertV1.Alert(
                        identifier: "record-k2",
                        status: .actual,
                        subject: "alert.traffic.standin",
                        headline: "offline",
                        fingerprint: "standin:k2"
                    )
                    try db.execute(
                        sql: """
                            INSERT INTO sanlian_outbox (created_ms, kind, identifier, payload)
                            VALUES (?, 'alert', 'record-k2', ?)
                            """,
                        arguments: [Int64(Date().timeIntervalSince1970 * 1000), Data(try alert.serializedBytes())]
                    )
                }
                _ = try await Harness.withBroker(township) { _ in
                    try await eventually("k2 delivered after the broker is back") {
                        try await Self.recordedAlerts(township) == ["record-k1", "record-k2"]
                    }
                    // Its status says so: nothing waits.
                    try await Harness.waitForRegistration(township, instance: "sanlian-standin-front")
                    try await township.withClient("station") { client in
                        try await eventually("the service to report an empty outbox") {
                            let health = try await client.unary(
                                HealthV1.Health.check,
                                HealthV1.HealthCheckRequest(service: StandinV1.Front.name)
                            )
                            return health.detail.contains {
                                $0.key == "sanlian-standin-front: outbox.backlog" && $0.value == "0"
                            }
                                && health.detail.contains {
                                    $0.key == "sanlian-standin-front: outbox.delivered" && $0.value == "2"
                                }
                        }
                    }
                }
            }
        }
    }

    @Test("a service at rest spends next to no CPU (its outbox relay waits for work, not spins)")
    func restsWhenIdle() async throws {
        let township = try Township(compose: Township.withStandins)
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-standin-front") { front in
                try await township.withClient("station") { try await Self.record($0, "k1") }
                try await eventually("k1 in the ledger") { try await Self.recordedAlerts(township) == ["record-k1"] }
                // The relay's wait has timed out at least once (after 1 s) before the window starts.
                try await Task.sleep(for: .milliseconds(1200))
                let before = try front.cpuTicks()
                try await Task.sleep(for: .seconds(1))
                let used = try front.cpuTicks() - before
                // A relay that spins uses most of a core: ~100 ticks a second.
                #expect(used < 25, "\(used) ticks of CPU in a second at rest")
            }
        }
    }

    @Test("SIGKILL the service between its commit and the broker's answer, restart it: exactly once, in order")
    func killedBetweenCommitAndAnswer() async throws {
        let township = try Township(compose: Township.withStandins)
        _ = try await Harness.withBroker(township) { _ in
            _ = try await Harness.withService(township, "sanlian-standin-front") { _ in
                try await township.withClient("station") { client in
                    for key in ["r1", "r2", "r3"] { try await Self.record(client, key) }
                    await #expect(throws: RPCError.self) { try await Self.record(client, "r4", crash: true) }
                }
            }
            _ = try await Harness.withService(township, "sanlian-standin-front") { _ in
                try await eventually("r4 delivered by the restarted service") {
                    try await Self.recordedAlerts(township).count >= 4
                }
                #expect(
                    try await Self.recordedAlerts(township) == ["record-r1", "record-r2", "record-r3", "record-r4"]
                )
                // And the change itself is there, once.
                _ = try await township.withClient("station") { client in
                    await #expect(throws: RPCError.self) { try await Self.record(client, "r4") }
                }
            }
        }
    }

    @Test("a call between services passes its deadline on; the callee sees the calling service, the person in a field")
    func callsBetweenServices() async throws {
        let township = try Township(compose: Township.withStandins)
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-standin-back") { _ in
                try await Harness.withService(township, "sanlian-standin-front") { _ in
                    try await township.withClient("station", operatorID: "leader-01") { client in
                        let front = StandinV1.FrontClient(client)
                        let seen = try await front.relay(
                            StandinV1.RelayRequest(),
                            options: CallOptions(timeout: .seconds(5))
                        )
                        #expect(seen.caller?.department == "station" && seen.caller?.operatorID == "leader-01")
                        #expect(seen.caller?.roles == ["duty_officer", "station_leader"])
                        #expect(seen.caller?.grants == ["personal_data"])
                        let back = try #require(seen.seenByBack)
                        #expect(
                            back.department == "traffic" && back.operatorID == "",
                            "the calling service, not the person"
                        )
                        #expect(back.onBehalfOf == "station/leader-01")
                        #expect(back.remainingMicros <= seen.caller?.remainingMicros ?? 0)
                        #expect(back.remainingMicros > 1_000_000 && back.remainingMicros <= 5_000_000)

                        // What is left of the caller's time, not Back's own default, bounds Back.
                        let clock = ContinuousClock()
                        let started = clock.now
                        await #expect {
                            try await front.relay(
                                StandinV1.RelayRequest(delayMs: 10_000),
                                options: CallOptions(timeout: .milliseconds(300))
                            )
                        } throws: { error in
                            (error as? RPCError)?.code == .deadlineExceeded
                        }
                        // Ended by the caller's 300 ms, not Back's ten seconds (a loaded test run
                        // stretches the first, never to the second).
                        #expect(clock.now - started < .seconds(5))
                    }
                }
            }
        }
    }

    @Test("a callee gone in the middle of a call between services gives the caller UNAVAILABLE")
    func calleeGoneMidCall() async throws {
        let township = try Township(compose: Township.withStandins)
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-standin-front") { _ in
                _ = try await Harness.withService(township, "sanlian-standin-back") { back in
                    try await township.withClient("station") { client in
                        async let relayed = StandinV1.FrontClient(client).relay(
                            StandinV1.RelayRequest(delayMs: 20_000),
                            options: CallOptions(timeout: .seconds(30))
                        )
                        try await back.waitForLog("Answering after a delay")
                        try back.kill()
                        let outcome: RPCError?
                        do {
                            _ = try await relayed
                            outcome = nil
                        } catch {
                            outcome = error as? RPCError
                        }
                        #expect(outcome?.code == .unavailable, "\(String(describing: outcome))")
                        #expect(
                            outcome?.message.contains("sanlian.standin.v1.Back") == true,
                            "\(String(describing: outcome))"
                        )
                    }
                }
            }
        }
    }
}
