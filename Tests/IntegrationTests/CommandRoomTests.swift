import Foundation
import HazardsContract
import IdentityNumbers
import PatrolContract
import ResidentsContract
import SanlianClock
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import StationContract
import Testing

/// The township end to end over every process started for real: the command room's service
/// (sanlian-station) with the departments' services and the broker.
@Suite("The command room and the township end to end", .timeLimit(.minutes(3)))
struct CommandRoomTests {
    static func options() -> CallOptions { CallOptions(timeout: .seconds(10)) }

    /// The township's day and month now (+08:00).
    static var today: LocalDay { TownshipTime().day(of: Int64(Date().timeIntervalSince1970 * 1000)) }
    static var thisMonth: CommonV1.Month {
        let (year, month, _) = today.components
        return CommonV1.Month(year: Int32(year), month: Int32(month))
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The identifiers of the ledger's alerts on `pattern`, in order.
    static func alertIdentifiers(_ township: Township, _ pattern: String) async throws -> [String] {
        try await township.ledgerAlertIdentifiers(pattern)
    }

    /// Runs `services` (in this order) on a started broker for the duration of `body`.
    static func withTownship(
        _ services: [String],
        _ body: @escaping @Sendable (Township) async throws -> Void
    ) async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Self.withServices(township, services[...], body)
        }
    }

    static func withServices(
        _ township: Township,
        _ services: ArraySlice<String>,
        _ body: @escaping @Sendable (Township) async throws -> Void
    ) async throws {
        guard let first = services.first else { return try await body(township) }
        _ = try await Harness.withService(township, first) { _ in
            try await Self.withServices(township, services.dropFirst(), body)
        }
    }

    @Test(
        "a patrol finding becomes a hazard and an alert the command room sees and dispatches to the rural traffic team, which acknowledges, reports and completes it; governance may not"
    )
    func findingToDispatch() async throws {
        try await Self.withTownship(["sanlian-hazards", "sanlian-patrol", "sanlian-station"]) { township in
            let finding = try await township.withClient("governance", operatorID: "gov-01") { client in
                let assignment = try await PatrolFixture.assignment(
                    client,
                    area: PatrolV1.PatrolArea(id: "g318", name: "G318", kind: .road),
                    shift: (1320, 360),
                    day: Self.today.description
                )
                return try await PatrolV1.PatrolsClient(client, options: Self.options()).reportFinding(
                    PatrolV1.ReportFindingRequest(
                        assignmentID: assignment.id,
                        kind: .roadHazard,
                        place: CommonV1.Place(villageCode: "511681104201", description: "G318 K1203 护栏"),
                        description: "G318 K1203 护栏损坏"
                    )
                )
            }
            #expect(finding.hazardReported)
            let task = try await township.withClient("station", operatorID: "duty-0421") { client in
                let hazards = HazardsV1.HazardsClient(client, options: Self.options())
                try await eventually("the finding among the hazards") {
                    try await hazards.list(HazardsV1.ListHazardsRequest()).hazards.count == 1
                }
                let hazard = try #require(try await hazards.list(HazardsV1.ListHazardsRequest()).hazards.first)
                // The command room sees it in the aggregated feed.
                let broker = BrokerV1.BrokerClient(client, options: Self.options())
                try await eventually("the hazard's aggregate in the command room") {
                    try await broker.listAggregates(BrokerV1.ListAggregatesRequest(states: [.firing])).aggregates
                        .contains { $0.fingerprint == "hazard:\(hazard.id)" }
                }
                let tasks = StationV1.TasksClient(client, options: Self.options())
                let request = StationV1.DispatchRequest(
                    requestID: "room-1",
                    title: "修复 G318 K1203 护栏",
                    source: StationV1.TaskSource(kind: .hazard, ref: hazard.id),
                    team: .ruralTraffic,
                    dueUnixMs: Self.now() + 3_600_000,
                    villageCode: "511681104201"
                )
                let task = try await tasks.dispatch(request)
                #expect(task.state == .dispatched && task.events.first?.operatorID == "duty-0421")
                #expect(try await tasks.dispatch(request).id == task.id, "a retried dispatch is the same task")
                return task
            }
            // The rural traffic team works with the traffic office: it acts; governance may not.
            let refused = await #expect(throws: RPCError.self) {
                try await township.withClient("governance", operatorID: "gov-01") { client in
                    try await StationV1.TasksClient(client, options: Self.options())
                        .acknowledge(StationV1.TaskActionRequest(id: task.id))
                }
            }
            #expect(
                refused?.code == .permissionDenied && refused?.message.contains("traffic") == true,
                "\(String(describing: refused))"
            )
            let done = try await township.withClient("traffic", operatorID: "traffic-01") { client in
                let tasks = StationV1.TasksClient(client, options: Self.options())
                let early = await #expect(throws: RPCError.self) {
                    try await tasks.complete(StationV1.TaskActionRequest(id: task.id))
                }
                #expect(early?.code == .failedPrecondition && early?.message.contains("dispatched") == true)
                _ = try await tasks.acknowledge(StationV1.TaskActionRequest(id: task.id, note: "收到"))
                _ = try await tasks.reportProgress(StationV1.TaskActionRequest(id: task.id, note: "已到场设置警示"))
                return try await tasks.complete(StationV1.TaskActionRequest(id: task.id, note: "护栏已修复"))
            }
            #expect(done.state == .completed && !done.overdue)
            #expect(done.events.map(\.state) == [.dispatched, .acknowledged, .inProgress, .completed])
            #expect(done.events.dropFirst().allSatisfy { $0.operatorID == "traffic-01" && $0.department == "traffic" })
            try await eventually("the dispatch in the ledger") {
                try await Self.alertIdentifiers(township, "alert.station.>") == ["task-dispatched-\(task.id)"]
            }
        }
    }

    @Test("a task past its due time raises one escalation alert; completing it resolves its aggregate")
    func overdueTask() async throws {
        try await Self.withTownship(["sanlian-station"]) { township in
            let task = try await township.withClient("station") { client in
                try await StationV1.TasksClient(client, options: Self.options()).dispatch(
                    StationV1.DispatchRequest(
                        requestID: "late-1",
                        title: "村道巡查",
                        team: .patrol,
                        dueUnixMs: Self.now() + 300
                    )
                )
            }
            try await eventually("the overdue escalation in the ledger") {
                try await Self.alertIdentifiers(township, "alert.station.>").contains("task-overdue-\(task.id)")
            }
            let (listed, overdue) = try await township.withClient("governance") { client in
                let tasks = StationV1.TasksClient(client, options: Self.options())
                let overdue = try await tasks.list(StationV1.ListTasksRequest(overdueOnly: true)).tasks
                _ = try await tasks.acknowledge(StationV1.TaskActionRequest(id: task.id))
                return (try await tasks.complete(StationV1.TaskActionRequest(id: task.id)), overdue)
            }
            #expect(overdue.map(\.id) == [task.id] && overdue.first?.overdue == true)
            #expect(listed.overdue, "completed after its due time")
            try await eventually("the completion in the ledger") {
                try await Self.alertIdentifiers(township, "alert.station.>").last == "task-completed-\(task.id)"
            }
            let identifiers = try await Self.alertIdentifiers(township, "alert.station.>")
            #expect(identifiers.filter { $0.hasPrefix("task-overdue-") }.count == 1)
            let aggregate = try await township.withClient("station") { client in
                try await BrokerV1.BrokerClient(client, options: Self.options())
                    .getAggregate(BrokerV1.GetAggregateRequest(fingerprint: "task:\(task.id)"))
            }
            #expect(aggregate.aggregate?.state == .resolved)
        }
    }

    @Test(
        "the incident log and the monthly report across departments, each figure from its service; a service not running is named"
    )
    func monthlyReport() async throws {
        try await Self.withTownship(["sanlian-residents", "sanlian-hazards", "sanlian-station"]) { township in
            let date = Self.today.description
            try await township.withClient("station", operatorID: "duty-0421") { client in
                let incidents = StationV1.IncidentsClient(client, options: Self.options())
                let theft = try await incidents.recordCase(
                    StationV1.CaseRecord(
                        kind: .theft,
                        date: date,
                        villageCode: "511681104203",
                        summary: "葡萄被盗",
                        requestID: "c1"
                    )
                )
                _ = try await incidents.recordCase(
                    StationV1.CaseRecord(kind: .fraud, date: date, villageCode: "511681104201", requestID: "c2")
                )
                _ = try await incidents.recordCase(
                    StationV1.CaseRecord(
                        kind: .fraud,
                        date: date,
                        villageCode: "511681104201",
                        requestID: "c3",
                        drill: true
                    )
                )
                let cleared = try await incidents.clearCase(StationV1.ClearCaseRequest(id: theft.id))
                #expect(cleared.cleared && cleared.clearedDate == date)
                _ = try await ResidentsV1.WindowServicesClient(client, options: Self.options()).record(
                    ResidentsV1.WindowServiceRecord(
                        business: "身份证办理",
                        receivedUnixMs: Self.now() - 600_000,
                        finishedUnixMs: Self.now() - 300_000
                    )
                )
            }
            try await township.withClient("traffic", operatorID: "traffic-01") { client in
                _ = try await StationV1.IncidentsClient(client, options: Self.options()).recordAccident(
                    StationV1.AccidentRecord(date: date, road: "G318 K1203", deaths: 0, injuries: 2, requestID: "a1")
                )
                _ = try await HazardsV1.HazardsClient(client, options: Self.options()).report(
                    HazardsV1.ReportHazardRequest(
                        kind: .traffic,
                        place: CommonV1.Place(villageCode: "511681104201", description: "G318 K1203"),
                        description: "G318 K1203 山体落石"
                    )
                )
            }
            let denied = await #expect(throws: RPCError.self) {
                try await township.withClient("governance") { client in
                    try await StationV1.IncidentsClient(client, options: Self.options()).recordCase(
                        StationV1.CaseRecord(kind: .theft, date: date, villageCode: "511681104203", requestID: "g1")
                    )
                }
            }
            #expect(denied?.code == .permissionDenied)
            let (report, daily) = try await township.withClient("station") { client in
                let reports = StationV1.ReportsClient(client, options: Self.options())
                return (
                    try await reports.getMonthlyReport(StationV1.MonthlyReportRequest(month: Self.thisMonth)),
                    try await reports.getDailySummary(StationV1.DailySummaryRequest())
                )
            }
            let month = try #require(report.month)
            #expect(month.cases == 2 && month.casesCleared == 1 && month.clearancePermille == 500, "drills never count")
            #expect(month.accidents == 1 && month.accidentInjuries == 2)
            #expect(month.hazardsReported == 1)
            #expect(month.windowServices == 1 && month.sameDayPermille == 1000)
            #expect(report.yearEarlier?.month?.year == Self.thisMonth.year - 1)
            #expect(
                report.unavailable.count == 1 && report.unavailable[0].hasPrefix("sanlian-patrol:"),
                "\(report.unavailable)"
            )
            #expect(daily.date == Self.today.description && daily.cases == 2 && daily.casesCleared == 1)
            #expect(daily.hazardsReported == 1 && daily.accidents == 1)
            #expect(daily.alertsFiring >= 1, "the hazard's alert")
        }
    }

    @Test(
        "a wage dispute lists the enterprise's workers: the hazards service asks the residents service through the broker, masked for the traffic office"
    )
    func wageDisputeWorkers() async throws {
        try await Self.withTownship(["sanlian-residents", "sanlian-hazards"]) { township in
            let first17 = "51168119900101001"
            let worker = first17 + String(IdentityNumber.checkDigit(first17.map { Int(String($0))! }))
            try await township.withClient("station", operatorID: "clerk-01") { client in
                _ = try await ResidentsV1.PopulationClient(client, options: Self.options()).upsertPerson(
                    ResidentsV1.UpsertPersonRequest(
                        person: ResidentsV1.Person(
                            idNumber: worker,
                            name: "赵工",
                            phone: "13812345678",
                            enterprise: "E001"
                        )
                    )
                )
            }
            let workers = try await township.withClient("traffic", operatorID: "traffic-01") { client in
                let disputes = HazardsV1.DisputesClient(client, options: Self.options())
                let dispute = try await disputes.intake(
                    HazardsV1.IntakeRequest(
                        category: .labourWages,
                        parties: [
                            HazardsV1.Party(name: "赵工", role: "complainant"),
                            HazardsV1.Party(name: "葡萄园", role: "respondent", enterprise: "E001"),
                        ],
                        place: CommonV1.Place(villageCode: "511681104203", description: "葡萄园"),
                        complaint: "拖欠工资三个月"
                    )
                )
                return try await disputes.listEnterpriseWorkers(HazardsV1.DisputeWorkersRequest(id: dispute.id))
            }
            #expect(workers.enterprise == "E001")
            #expect(workers.workers.map(\.name) == ["赵工"])
            #expect(workers.workers.first?.idNumber == IdentityNumber.masked(worker), "masked for the traffic office")
            #expect(workers.workers.first?.phone != "13812345678")
        }
    }
}
