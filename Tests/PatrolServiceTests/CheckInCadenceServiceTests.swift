import Foundation
import GRDB
import Logging
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianCompose
import SanlianRPC
import SanlianWire
import ServiceFrame
import Testing

@testable import PatrolService

/// A broker that is never reached: these tests read what the service puts in its outbox.
struct UnreachableBroker: RPCCaller {
    func unary<Request, Response>(_ method: WireMethod<Request, Response>, _ request: Request, options: CallOptions)
        async throws(RPCError) -> Response
    {
        throw RPCError(.unavailable, "no broker in this test")
    }

    func serverStream<Request, Response>(
        _ method: WireMethod<Request, Response>,
        _ request: Request,
        options: CallOptions
    )
        async throws(RPCError) -> ResponseStream<Response>
    {
        throw RPCError(.unavailable, "no broker in this test")
    }

    func unary(method: String, payload: [UInt8], options: CallOptions) async throws(RPCError) -> [UInt8] {
        throw RPCError(.unavailable, "no broker in this test")
    }
}

/// The patrol service in this process over a database of its own, with a clock the test moves:
/// check-ins, misses and their alerts as the outbox holds them.
@Suite("The patrol service's check-in cadence, in-process with a controlled clock")
struct CheckInCadenceServiceTests {
    static let start: Int64 = 1_796_601_600_000  // 2026-12-07 08:00 +08:00

    struct Fixture {
        let service: PatrolService
        let clock: ManualClock
        let directory: String
        let assignment: PatrolV1.Assignment

        /// The alerts in the outbox, in order: identifier, severity, type.
        func alerts() async throws -> [(identifier: String, severity: AlertV1.Severity, type: AlertV1.MessageType)] {
            try await service.context.database.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT payload FROM sanlian_outbox WHERE kind = 'alert' ORDER BY id").map {
                    row in
                    let alert = try AlertV1.Alert(serializedBytes: row["payload"] as Data)
                    return (alert.identifier, alert.severity, alert.msgType)
                }
            }
        }
    }

    /// A night shift (22:00–06:00) with check-ins every 30 minutes and 5 minutes' grace, and one
    /// assignment on it.
    static func withService(_ body: (Fixture) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "sl-patrol-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let composePath = directory + "/township.yaml"
        let original = try String(contentsOfFile: Self.repositoryRoot + "/compose/township.yaml", encoding: .utf8)
        try original.replacingOccurrences(
            of: "    every: 1h\n    grace: 10m\n",
            with: "    every: 30m\n    grace: 5m\n"
        )
        .write(toFile: composePath, atomically: true, encoding: .utf8)
        let compose = try ComposeFile.load(path: composePath)
        let clock = ManualClock(Self.start)
        let database = try ServiceDatabase(path: directory + "/patrol.sqlite", migrations: PatrolService.migrations)
        let context = ServiceContext(
            name: PatrolService.name,
            compose: compose,
            settings: compose.services["sanlian-patrol"]!,
            stateDirectory: directory,
            database: database,
            outbox: Outbox(database: database, clock: clock),
            clock: clock,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            broker: UnreachableBroker()
        )
        let service = try PatrolService(context: context)
        let nightStart = Self.start + 14 * 3_600_000
        let assignment = PatrolV1.Assignment(
            id: "as-night",
            shiftTemplateID: "night",
            day: "2026-12-07",
            volunteerID: "v1",
            state: .confirmed,
            startsUnixMs: nightStart,
            endsUnixMs: nightStart + 8 * 3_600_000,
            areaID: "g318",
            shiftName: "night"
        )
        try await database.pool.write { db in
            try db.execute(sql: "INSERT INTO areas (id, body) VALUES ('g318', x'')")
            let template = PatrolV1.ShiftTemplate(
                id: "night",
                name: "night",
                areaID: "g318",
                startMinute: 22 * 60,
                endMinute: 6 * 60,
                peopleNeeded: 2,
                night: true
            )
            try db.execute(
                sql: "INSERT INTO shift_templates (id, area_id, body) VALUES ('night', 'g318', ?)",
                arguments: [try PatrolRecords.body(template)]
            )
            try PatrolService.store(
                PatrolV1.Volunteer(id: "v1", name: "王大山", phone: "13812345601", kind: .veteran, active: true),
                db
            )
            try PatrolRecords.insert(assignment, now: Self.start, db)
        }
        clock.set(nightStart)
        try await body(Fixture(service: service, clock: clock, directory: directory, assignment: assignment))
    }

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    @Test("one miss: an alert once, severe at night; nothing more within the next interval")
    func oneMiss() async throws {
        try await Self.withService { fixture in
            let started = try await fixture.service.checkIn(
                PatrolV1.CheckInRequest(assignmentID: "as-night"),
                now: fixture.clock.nowMilliseconds()
            )
            #expect(started.started)
            fixture.clock.advance(seconds: 34 * 60)
            #expect(
                try await fixture.service.recordMissedCheckIns(now: fixture.clock.nowMilliseconds()) == 0,
                "within the grace"
            )
            fixture.clock.advance(seconds: 60)
            #expect(try await fixture.service.recordMissedCheckIns(now: fixture.clock.nowMilliseconds()) == 1)
            #expect(
                try await fixture.service.recordMissedCheckIns(now: fixture.clock.nowMilliseconds()) == 0,
                "recorded once"
            )
            let alerts = try await fixture.alerts()
            #expect(alerts.map(\.identifier) == ["patrol-missed-as-night-1"])
            #expect(alerts.first?.severity == .severe)
        }
    }

    @Test("two misses: the second raises the severity; a late check-in cancels the alert")
    func twoMissesThenLate() async throws {
        try await Self.withService { fixture in
            _ = try await fixture.service.checkIn(
                PatrolV1.CheckInRequest(assignmentID: "as-night"),
                now: fixture.clock.nowMilliseconds()
            )
            fixture.clock.advance(seconds: 66 * 60)
            #expect(try await fixture.service.recordMissedCheckIns(now: fixture.clock.nowMilliseconds()) == 2)
            let late = try await fixture.service.checkIn(
                PatrolV1.CheckInRequest(assignmentID: "as-night"),
                now: fixture.clock.nowMilliseconds()
            )
            #expect(late.resolvedMissed)
            #expect(late.nextDueUnixMs == fixture.clock.nowMilliseconds() + 30 * 60_000)
            let alerts = try await fixture.alerts()
            #expect(
                alerts.map(\.identifier) == [
                    "patrol-missed-as-night-1", "patrol-missed-as-night-2", "patrol-answered-as-night-2",
                ]
            )
            #expect(alerts.map(\.severity) == [.severe, .extreme, .minor])
            #expect(alerts.map(\.type) == [.alert, .update, .cancel])
        }
    }

    @Test("a service down through the misses records them when it looks again, and the shift's end closes the patrol")
    func catchUp() async throws {
        try await Self.withService { fixture in
            _ = try await fixture.service.checkIn(
                PatrolV1.CheckInRequest(assignmentID: "as-night"),
                now: fixture.clock.nowMilliseconds()
            )
            fixture.clock.advance(seconds: 9 * 3600)
            // Every half hour of the shift's eight: the check-ins due up to its end, then it closes.
            #expect(try await fixture.service.recordMissedCheckIns(now: fixture.clock.nowMilliseconds()) == 16)
            await #expect(throws: RPCError.self) {
                try await fixture.service.checkIn(
                    PatrolV1.CheckInRequest(assignmentID: "as-night"),
                    now: fixture.clock.nowMilliseconds()
                )
            }
            #expect(
                try await fixture.service.recordMissedCheckIns(now: fixture.clock.nowMilliseconds() + 3_600_000) == 0
            )
        }
    }
}
