import Foundation
import GRDB
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// sanlian-patrol over real processes: the broker and the service, a roster solved and stored,
/// check-ins on a cadence of a few seconds, and the missed check-in's alert in the broker's
/// ledger.
@Suite("The patrol service over real processes", .timeLimit(.minutes(3)))
struct PatrolServiceTests {
    /// The default township with check-ins every 3 seconds (1 second's grace).
    static func township() throws -> Township {
        let township = try Township { text in
            text.replacingOccurrences(of: "    every: 1h\n    grace: 10m\n", with: "    every: 3s\n    grace: 1s\n")
        }
        guard try String(contentsOfFile: township.composePath, encoding: .utf8).contains("every: 3s") else {
            throw HarnessError("compose/township.yaml's patrol.check_in is no longer the one this test shortens")
        }
        return township
    }

    static func options() -> CallOptions { CallOptions(timeout: .seconds(10)) }

    /// An area, two volunteers (a veteran with a phone) and a one-person shift running now:
    /// from five minutes ago, for two hours.
    static func setUp(_ client: RPCClient) async throws -> (day: String, template: String) {
        let roster = PatrolV1.RosterClient(client, options: options())
        _ = try await roster.upsertArea(PatrolV1.PatrolArea(id: "g318", name: "G318 高兴段", kind: .road))
        _ = try await roster.upsertTeam(PatrolV1.Team(id: "t1", name: "一队"))
        for (id, kind) in [("v1", PatrolV1.VolunteerKind.veteran), ("v2", .activist)] {
            _ = try await roster.upsertVolunteer(
                PatrolV1.UpsertVolunteerRequest(
                    volunteer: PatrolV1.Volunteer(
                        id: id,
                        name: "志愿者\(id)",
                        phone: "1381234567\(id.suffix(1))",
                        kind: kind,
                        teamID: "t1",
                        active: true
                    )
                )
            )
        }
        let time = TownshipTime()
        let start = Int64(Date().timeIntervalSince1970 * 1000) - 5 * 60_000
        let startMinute = time.minuteOfDay(start)
        _ = try await roster.upsertShiftTemplate(
            PatrolV1.ShiftTemplate(
                id: "now",
                name: "day",
                areaID: "g318",
                startMinute: UInt32(startMinute),
                endMinute: UInt32((startMinute + 120) % 1440),
                peopleNeeded: 1
            )
        )
        return (time.day(of: start).description, "now")
    }

    /// The identifiers of the service's check-in alerts in the ledger, in order.
    static func checkInAlerts(_ township: Township) async throws -> [String] {
        try await township.withClient("station") { client in
            let page = try await client.unary(
                BrokerV1.Broker.readLedger,
                BrokerV1.ReadLedgerRequest(fromSequence: 1, limit: 1000, subjectPattern: "alert.patrol.>")
            )
            return page.events.compactMap { event in
                if case .alert(let alert)? = event.body { return alert.identifier }
                return nil
            }
        }
    }

    @Test(
        "volunteers, a roster, a check-in, missed check-ins: each alert in the ledger exactly once, across a broker killed and restarted; a late check-in resolves it"
    )
    func missedCheckIn() async throws {
        let township = try Self.township()
        _ = try await Harness.withBroker(township) { first in
            try await Harness.withService(township, "sanlian-patrol") { _ in
                let assignment = try await township.withClient("station") { client in
                    let (day, _) = try await Self.setUp(client)
                    let roster = PatrolV1.RosterClient(client, options: Self.options())
                    let generated = try await roster.generateRoster(
                        PatrolV1.GenerateRosterRequest(
                            firstDay: day,
                            lastDay: day,
                            rules: PatrolV1.RosterRules(seed: 1)
                        )
                    )
                    #expect(generated.score?.assignments == 1)
                    #expect(generated.score?.hardViolations == 0)
                    let listed = try await roster.listAssignments(PatrolV1.ListAssignmentsRequest())
                    let assignment = try #require(listed.assignments.first)
                    let started = try await PatrolV1.PatrolsClient(client, options: Self.options())
                        .checkIn(PatrolV1.CheckInRequest(assignmentID: assignment.id))
                    #expect(started.started)
                    return assignment
                }
                let missed1 = "patrol-missed-\(assignment.id)-1"
                try await eventually("the first missed check-in's alert", timeout: .seconds(20)) {
                    try await Self.checkInAlerts(township).contains(missed1)
                }
                // The broker goes down: misses go on being recorded (the service's own database
                // says so), their alerts wait in the outbox.
                try first.kill()
                let database = try DatabaseQueue(
                    path: township.stateDirectory + "/data/patrol.sqlite",
                    configuration: {
                        var configuration = Configuration(); configuration.readonly = true; return configuration
                    }()
                )
                try await eventually("a second miss recorded while the broker is down", timeout: .seconds(20)) {
                    try await database.read { db in
                        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM check_ins WHERE kind = 3") ?? 0
                    } >= 2
                }
                _ = try await Harness.withBroker(township) { _ in
                    try await Harness.waitForRegistration(township, instance: "sanlian-patrol")
                    try await eventually("a later miss delivered after the restart", timeout: .seconds(20)) {
                        try await Self.checkInAlerts(township).contains("patrol-missed-\(assignment.id)-2")
                    }
                    let answered = try await township.withClient("station") { client in
                        try await PatrolV1.PatrolsClient(client, options: Self.options())
                            .checkIn(PatrolV1.CheckInRequest(assignmentID: assignment.id))
                    }
                    #expect(answered.resolvedMissed)
                    try await eventually("the answering Cancel") {
                        try await Self.checkInAlerts(township).contains {
                            $0.hasPrefix("patrol-answered-\(assignment.id)-")
                        }
                    }
                    let alerts = try await Self.checkInAlerts(township)
                    let misses = alerts.filter { $0.hasPrefix("patrol-missed-") }
                    #expect(Set(misses).count == misses.count, "each miss exactly once: \(alerts)")
                    #expect(misses == (1...misses.count).map { "patrol-missed-\(assignment.id)-\($0)" }, "\(alerts)")
                    // The aggregate of the patrol's misses is resolved by the Cancel.
                    try await township.withClient("station") { client in
                        let aggregate = try await client.unary(
                            BrokerV1.Broker.getAggregate,
                            BrokerV1.GetAggregateRequest(fingerprint: "patrol-missed:\(assignment.id)")
                        )
                        #expect(aggregate.aggregate?.state == .resolved)
                        #expect(aggregate.aggregate?.latest?.severity != nil)
                        let records = try await PatrolV1.PatrolsClient(client, options: Self.options())
                            .listCheckIns(PatrolV1.ListCheckInsRequest(assignmentID: assignment.id))
                        #expect(records.records.first?.kind == .start)
                        #expect(records.records.filter { $0.kind == .missed }.count == misses.count)
                        #expect(records.records.last?.kind == .checkIn)
                    }
                }
                return ()
            }
        }
    }

    @Test("a road hazard found on patrol: its alert goes out though the hazards service it is also reported to is down")
    func findingWhileHazardsDown() async throws {
        let township = try Self.township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-patrol") { _ in
                let finding = try await township.withClient("station") { client in
                    let (day, _) = try await Self.setUp(client)
                    let roster = PatrolV1.RosterClient(client, options: Self.options())
                    _ = try await roster.generateRoster(PatrolV1.GenerateRosterRequest(firstDay: day, lastDay: day))
                    let assignment = try #require(
                        try await roster.listAssignments(PatrolV1.ListAssignmentsRequest()).assignments.first
                    )
                    return try await PatrolV1.PatrolsClient(client, options: Self.options()).reportFinding(
                        PatrolV1.ReportFindingRequest(
                            assignmentID: assignment.id,
                            kind: .roadHazard,
                            place: CommonV1.Place(villageCode: "511681104201", description: "G318 K1203 落石"),
                            description: "G318 K1203 处山体落石，占用半幅路面"
                        )
                    )
                }
                #expect(finding.hazardReported, "the compose file lists sanlian-hazards")
                try await eventually("the finding's alert", timeout: .seconds(20)) {
                    try await Self.checkInAlerts(township).contains(finding.alertIdentifier)
                }
                return ()
            }
        }
    }

    @Test("bad input: each refusal names the field")
    func badInput() async throws {
        let township = try Self.township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-patrol") { _ in
                try await township.withClient("station") { client in
                    let roster = PatrolV1.RosterClient(client, options: Self.options())
                    await #expect {
                        try await roster.upsertVolunteer(
                            PatrolV1.UpsertVolunteerRequest(
                                volunteer: PatrolV1.Volunteer(id: "v1", name: "x", phone: "12345", kind: .veteran)
                            )
                        )
                    } throws: { error in
                        (error as? RPCError)?.code == .invalidArgument
                            && (error as? RPCError)?.message.contains("phone") == true
                    }
                    await #expect {
                        try await roster.generateRoster(
                            PatrolV1.GenerateRosterRequest(firstDay: "2026-13-01", lastDay: "2026-12-31")
                        )
                    } throws: { error in
                        (error as? RPCError)?.message.contains("first_day") == true
                    }
                    await #expect {
                        try await roster.listVolunteers(
                            PatrolV1.ListVolunteersRequest(page: CommonV1.PageRequest(pageToken: "garbage"))
                        )
                    } throws: { error in
                        (error as? RPCError)?.message.contains("page.page_token") == true
                    }
                    let imported = try await roster.importVolunteers(
                        PatrolV1.ImportVolunteersRequest(rows: [
                            PatrolV1.ImportRow(
                                row: 2,
                                volunteer: PatrolV1.Volunteer(
                                    id: "ok",
                                    name: "好",
                                    phone: "13800000000",
                                    kind: .other,
                                    active: true
                                )
                            ),
                            PatrolV1.ImportRow(
                                row: 3,
                                volunteer: PatrolV1.Volunteer(id: "bad", name: "", phone: "1", kind: .other)
                            ),
                        ])
                    )
                    #expect(imported.created == 0, "nothing half-imported")
                    #expect(imported.rejected.map(\.row) == [3, 3])
                    #expect(Set(imported.rejected.map(\.field)) == ["name", "phone"])
                    let none = try await roster.listVolunteers(PatrolV1.ListVolunteersRequest(includeInactive: true))
                    #expect(none.volunteers.isEmpty)
                }
                return ()
            }
        }
    }
}
