import Foundation
import GRDB
import HazardsContract
import PatrolContract
import SanlianClock
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import StationContract
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The township when a process dies: the broker killed during a burst of alerts from all three
/// alerting services, with the command room's live feed running across it.
@Suite("The township across a broker killed mid-burst", .timeLimit(.minutes(3)))
struct TownshipFailureTests {
    static func options() -> CallOptions { CallOptions(timeout: .seconds(5)) }

    /// Calls `body` until it succeeds (the broker may be down): every call here is one a retry
    /// makes again safely (an identifier the service takes once), or one whose repeat the test
    /// counts by what the services committed.
    static func retrying<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await body()
            } catch let error as RPCError where error.code == .unavailable || error.code == .deadlineExceeded {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// The identifiers of the alerts a service committed to its outbox.
    static func committedAlerts(_ township: Township, _ database: String) throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(
            path: township.stateDirectory + "/data/\(database).sqlite",
            configuration: configuration
        )
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT payload FROM sanlian_outbox WHERE kind = 'alert' ORDER BY id").map {
                try AlertV1.Alert(serializedBytes: $0["payload"] as Data).identifier
            }
        }
    }

    /// Every alert in the ledger, by identifier, in order.
    static func ledgerAlerts(_ township: Township) async throws -> [String] {
        try await township.ledgerAlertIdentifiers()
    }

    @Test(
        "SIGKILL the broker during a burst of alerts from hazards, patrol and the command room, restart it: every committed alert in the ledger exactly once, and the live feed resumes without a gap or a duplicate"
    )
    func brokerKilledMidBurst() async throws {
        let township = try Township()
        let feed = Locked<[String]>([])
        _ = try await Harness.withBroker(township) { first in
            try await CommandRoomTests.withServices(township, ["sanlian-hazards", "sanlian-patrol", "sanlian-station"])
            {
                township in
                let assignment = try await township.withClient("governance") { client in
                    try await PatrolFixture.assignment(
                        client,
                        area: PatrolV1.PatrolArea(id: "v3", name: "三组", kind: .village)
                    )
                }
                // The command room's live feed, as a process of its own, across the restart.
                _ = try await Subprocess.run(
                    .path(FilePath(try Harness.executable("sanlian"))),
                    arguments: Arguments(["watch", "--json", "--name", "room", "--dir", township.stateDirectory]),
                    environment: Harness.processEnvironment,
                    input: .none,
                    output: .sequence,
                    error: .discarded
                ) { execution in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await line in execution.standardOutput.strings() {
                                feed.withLock { $0.append(line.trimmingCharacters(in: .newlines)) }
                            }
                        }
                        let made = Locked<Int>(0)
                        try await withThrowingTaskGroup(of: Void.self) { burst in
                            burst.addTask {
                                try await township.withClient("traffic") { client in
                                    let hazards = HazardsV1.HazardsClient(client, options: Self.options())
                                    for index in 1...30 {
                                        _ = try await Self.retrying {
                                            try await hazards.report(
                                                HazardsV1.ReportHazardRequest(
                                                    kind: .traffic,
                                                    place: CommonV1.Place(
                                                        villageCode: "511681104201",
                                                        description: "K\(index)"
                                                    ),
                                                    description: "G318 K\(index) 落石",
                                                    identifier: "burst-\(index)"
                                                )
                                            )
                                        }
                                        made.withLock { $0 += 1 }
                                    }
                                }
                            }
                            burst.addTask {
                                try await township.withClient("governance") { client in
                                    let patrols = PatrolV1.PatrolsClient(client, options: Self.options())
                                    for index in 1...30 {
                                        _ = try await Self.retrying {
                                            try await patrols.reportFinding(
                                                PatrolV1.ReportFindingRequest(
                                                    assignmentID: assignment.id,
                                                    kind: .suspiciousPerson,
                                                    place: CommonV1.Place(villageCode: "511681104203"),
                                                    description: "可疑人员 \(index)"
                                                )
                                            )
                                        }
                                        made.withLock { $0 += 1 }
                                    }
                                }
                            }
                            burst.addTask {
                                try await township.withClient("station") { client in
                                    let tasks = StationV1.TasksClient(client, options: Self.options())
                                    for index in 1...30 {
                                        _ = try await Self.retrying {
                                            try await tasks.dispatch(
                                                StationV1.DispatchRequest(
                                                    requestID: "burst-\(index)",
                                                    title: "巡查 \(index)",
                                                    team: .ruralPolicing,
                                                    dueUnixMs: Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000
                                                )
                                            )
                                        }
                                        made.withLock { $0 += 1 }
                                    }
                                }
                            }
                            burst.addTask {
                                try await eventually("a third of the burst") { made.value >= 30 }
                                try first.kill()
                                // The rest of the burst, and its retries, against a broker started again
                                // on the same ledger.
                                _ = try await Harness.withBroker(township) { _ in
                                    try await eventually("the whole burst made", timeout: .seconds(60)) {
                                        made.value == 90
                                    }
                                    let committed =
                                        try Self.committedAlerts(township, "hazards")
                                        + Self.committedAlerts(township, "patrol")
                                        + Self.committedAlerts(township, "station")
                                    #expect(committed.count >= 90)
                                    try await eventually("every committed alert in the ledger", timeout: .seconds(60)) {
                                        try await Set(Self.ledgerAlerts(township)) == Set(committed)
                                    }
                                    let ledger = try await Self.ledgerAlerts(township)
                                    #expect(ledger.count == Set(ledger).count, "no alert twice in the ledger")
                                    #expect(Set(ledger) == Set(committed))
                                    try await eventually("the live feed to catch up", timeout: .seconds(60)) {
                                        feed.value.count >= ledger.count
                                    }
                                }
                            }
                            try await burst.waitForAll()
                        }
                        try? execution.send(signal: .terminate)
                        group.cancelAll()
                    }
                }
            }
        }
        // Each event once, in order, none missing: sequences 1, 2, 3, … as the feed wrote them.
        let sequences = feed.value.compactMap { line -> UInt64? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return (object["sequence"] as? String).flatMap(UInt64.init)
                ?? (object["sequence"] as? NSNumber)?.uint64Value
        }
        #expect(!sequences.isEmpty)
        #expect(sequences == Array(1...UInt64(sequences.count)), "gaps or repeats: \(sequences)")
    }
}
