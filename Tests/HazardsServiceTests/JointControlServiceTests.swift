import Foundation
import GRDB
import HazardsContract
import Logging
import SanlianClock
import SanlianCompose
import SanlianRPC
import SanlianWire
import ServiceFrame
import Testing

@testable import HazardsService

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

/// The joint-control service in this process over a database of its own, with a clock the test
/// moves: overdue escalations and follow-ups as the outbox and the lists show them.
@Suite("The joint-control service in-process, with a controlled clock")
struct JointControlServiceTests {
    static let start: Int64 = 1_796_601_600_000  // 2026-12-07 08:00 +08:00
    static let traffic = Caller(
        department: "traffic",
        operatorID: "traffic-01",
        roles: ["traffic_officer", "mediator"]
    )
    static let leader = Caller(
        department: "station",
        operatorID: "leader-01",
        roles: ["station_leader", "duty_officer"]
    )

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func withService(_ body: (HazardsService, ManualClock) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "sl-hazards-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let compose = try ComposeFile.load(path: Self.repositoryRoot + "/compose/township.yaml")
        let clock = ManualClock(Self.start)
        let database = try ServiceDatabase(path: directory + "/hazards.sqlite", migrations: HazardsService.migrations)
        let service = try HazardsService(
            context: ServiceContext(
                name: HazardsService.name,
                compose: compose,
                settings: compose.services["sanlian-hazards"]!,
                stateDirectory: directory,
                database: database,
                outbox: Outbox(database: database, clock: clock),
                clock: clock,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                broker: UnreachableBroker()
            )
        )
        try await body(service, clock)
    }

    static func alerts(_ service: HazardsService) async throws -> [AlertV1.Alert] {
        try await service.context.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT payload FROM sanlian_outbox WHERE kind = 'alert' ORDER BY id").map {
                try AlertV1.Alert(serializedBytes: $0["payload"] as Data)
            }
        }
    }

    static let roadblock = HazardsV1.ReportHazardRequest(
        kind: .traffic,
        place: CommonV1.Place(villageCode: "511681104201", description: "G318 K1203"),
        description: "G318 K1203 山体落石，占用半幅路面"
    )

    @Test("graded and routed by the compose file's rules; the same identifier is the same report, alerted once")
    func gradedRoutedOnce() async throws {
        try await Self.withService { service, _ in
            var request = Self.roadblock
            request.identifier = "patrol-finding-fd-1"
            let first = try await service.report(request, caller: Self.traffic, now: Self.start)
            #expect(first.grade == .serious, "落石 is in the traffic rule: \(first.gradeReason)")
            #expect(first.responsibleDepartment == "traffic")
            #expect(first.id == "H20261207-0001")
            #expect(first.dueUnixMs == Self.start + 2 * 3_600_000)
            let again = try await service.report(request, caller: Self.traffic, now: Self.start + 60_000)
            #expect(again == first)
            let other = try await service.report(Self.roadblock, caller: Self.traffic, now: Self.start + 60_000)
            #expect(other.id == "H20261207-0002")
            #expect(
                try await Self.alerts(service).map(\.identifier) == ["hazard-H20261207-0001", "hazard-H20261207-0002"]
            )
        }
    }

    @Test("an overdue step raises one escalation however long it stays overdue; the next step its own")
    func overdueOncePerStep() async throws {
        try await Self.withService { service, clock in
            let hazard = try await service.report(Self.roadblock, caller: Self.traffic, now: Self.start)
            clock.advance(seconds: 2 * 3600 - 1)
            #expect(try await service.escalateOverdue(now: clock.nowMilliseconds()) == 0)
            clock.advance(seconds: 1)
            #expect(try await service.escalateOverdue(now: clock.nowMilliseconds()) == 1)
            clock.advance(seconds: 3600)
            #expect(try await service.escalateOverdue(now: clock.nowMilliseconds()) == 0, "once per step")
            _ = try await service.transition(
                HazardsV1.HazardTransitionRequest(id: hazard.id, to: .acknowledged),
                caller: Self.traffic,
                now: clock.nowMilliseconds()
            )
            clock.advance(seconds: 2 * 3600)
            #expect(try await service.escalateOverdue(now: clock.nowMilliseconds()) == 1, "the next step's own")
            let overdue = try await Self.alerts(service).filter { $0.identifier.hasPrefix("hazard-overdue-") }
            #expect(overdue.map(\.identifier) == ["hazard-overdue-\(hazard.id)-1", "hazard-overdue-\(hazard.id)-2"])
            #expect(
                overdue.allSatisfy {
                    $0.msgType == .update && $0.severity == .extreme && $0.fingerprint == "hazard:\(hazard.id)"
                }
            )
        }
    }

    @Test("who moved it and when come from the caller; a department not responsible is refused")
    func whoAndWhen() async throws {
        try await Self.withService { service, clock in
            let hazard = try await service.report(Self.roadblock, caller: Self.traffic, now: Self.start)
            let safety = Caller(department: "safety", operatorID: "safety-01")
            await #expect {
                try await service.transition(
                    HazardsV1.HazardTransitionRequest(id: hazard.id, to: .acknowledged),
                    caller: safety,
                    now: clock.nowMilliseconds()
                )
            } throws: { error in
                (error as? RPCError)?.code == .permissionDenied
            }
            let acknowledged = try await service.transition(
                HazardsV1.HazardTransitionRequest(id: hazard.id, to: .acknowledged, note: "已知悉"),
                caller: Self.leader,
                now: Self.start + 600_000
            )
            let event = try #require(acknowledged.history.last)
            #expect(
                event.byDepartment == "station" && event.byOperator == "leader-01"
                    && event.atUnixMs == Self.start + 600_000
            )
            await #expect {
                try await service.transition(
                    HazardsV1.HazardTransitionRequest(id: hazard.id, to: .closed, evidence: "x"),
                    caller: Self.traffic,
                    now: clock.nowMilliseconds()
                )
            } throws: { error in
                let error = error as? RPCError
                return error?.code == .failedPrecondition && error?.message.contains("acknowledged") == true
                    && error?.message.contains("closed") == true
            }
        }
    }

    @Test("follow-ups: listed once due, oldest first, late once their time has passed")
    func followUps() async throws {
        try await Self.withService { service, clock in
            let dispute = try await service.intake(
                HazardsV1.IntakeRequest(
                    category: .labourWages,
                    parties: [
                        HazardsV1.Party(name: "工人甲", role: "complainant"),
                        HazardsV1.Party(name: "某厂", role: "respondent"),
                    ],
                    place: CommonV1.Place(villageCode: "511681104202"),
                    complaint: "拖欠工资三个月"
                ),
                caller: Self.traffic,
                now: clock.nowMilliseconds()
            )
            let day: Int64 = 86_400_000
            try await service.context.database.pool.write { db in
                // Assessed, routed, mediated without agreement, as the service's steps would.
                var stored = try #require(try JointControlRecords.dispute(dispute.id, db))
                stored.state = .unresolved
                stored.grade = .general
                stored.followUps = [
                    HazardsV1.FollowUp(dueUnixMs: Self.start + 7 * day, id: "\(dispute.id)-F1"),
                    HazardsV1.FollowUp(dueUnixMs: Self.start + 14 * day, id: "\(dispute.id)-F2"),
                ]
                try JointControlRecords.save(stored, db)
            }
            clock.advance(seconds: 8 * 86_400)
            let due = try await service.listFollowUpsDue(
                HazardsV1.ListFollowUpsDueRequest(),
                frameBytes: 1 << 20,
                now: clock.nowMilliseconds()
            )
            #expect(due.followUps.map { $0.followUp?.id } == ["\(dispute.id)-F1"])
            #expect(due.followUps.first?.late == true)
            let later = try await service.listFollowUpsDue(
                HazardsV1.ListFollowUpsDueRequest(dueBeforeUnixMs: Self.start + 15 * day),
                frameBytes: 1 << 20,
                now: clock.nowMilliseconds()
            )
            #expect(later.followUps.map(\.late) == [true, false])
        }
    }
}
