import Foundation
import HazardsContract
import PatrolContract
import SanlianClock
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// sanlian-hazards over real processes, with the broker (and the patrol service reporting what
/// its patrols find).
@Suite("The joint-control service over real processes", .timeLimit(.minutes(3)))
struct HazardsServiceTests {
    static func options() -> CallOptions { CallOptions(timeout: .seconds(10)) }

    /// The ledger's events on `pattern`, oldest first: their alerts' identifiers.
    static func alerts(_ township: Township, _ pattern: String = "alert.hazards.>") async throws -> [AlertV1.Alert] {
        try await township.withClient("station") { client in
            let page = try await client.unary(
                BrokerV1.Broker.readLedger,
                BrokerV1.ReadLedgerRequest(fromSequence: 1, limit: 1000, subjectPattern: pattern)
            )
            return page.events.compactMap { event in
                if case .alert(let alert)? = event.body { return alert }
                return nil
            }
        }
    }

    @Test("a report → its alert in the ledger → acknowledged → assigned → handled → closed, its aggregate resolved")
    func lifecycle() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-hazards") { _ in
                let hazard = try await township.withClient("village_leader", operatorID: "vl-201") { client in
                    try await HazardsV1.HazardsClient(client, options: Self.options()).report(
                        HazardsV1.ReportHazardRequest(
                            kind: .fire,
                            place: CommonV1.Place(villageCode: "511681104201", villageGroup: "一组"),
                            description: "农家乐后院液化气罐露天堆放"
                        )
                    )
                }
                #expect(hazard.grade == .major)
                #expect(hazard.responsibleDepartment == "safety")
                #expect(hazard.reportingDepartment == "village_leader" && hazard.reportingOperator == "vl-201")
                try await eventually("the report's alert in the ledger") {
                    try await Self.alerts(township).contains {
                        $0.identifier == hazard.alertIdentifier && $0.severity == .extreme
                    }
                }
                try await township.withClient("safety", operatorID: "safety-01") { client in
                    let hazards = HazardsV1.HazardsClient(client, options: Self.options())
                    _ = try await hazards.transition(
                        HazardsV1.HazardTransitionRequest(id: hazard.id, to: .acknowledged)
                    )
                    _ = try await hazards.transition(
                        HazardsV1.HazardTransitionRequest(id: hazard.id, to: .assigned, assignee: "镇安办检查组")
                    )
                    _ = try await hazards.transition(
                        HazardsV1.HazardTransitionRequest(id: hazard.id, to: .handled, note: "气罐移入专用储存间")
                    )
                    let closed = try await hazards.transition(
                        HazardsV1.HazardTransitionRequest(id: hazard.id, to: .closed, evidence: "复查照片，储存间合格")
                    )
                    #expect(closed.state == .closed)
                    #expect(closed.history.map(\.to) == [.reported, .acknowledged, .assigned, .handled, .closed])
                    #expect(
                        closed.history.dropFirst().allSatisfy {
                            $0.byDepartment == "safety" && $0.byOperator == "safety-01"
                        }
                    )
                }
                try await township.withClient("station") { client in
                    try await eventually("the closing Cancel to resolve the aggregate") {
                        let aggregate = try await client.unary(
                            BrokerV1.Broker.getAggregate,
                            BrokerV1.GetAggregateRequest(fingerprint: "hazard:\(hazard.id)")
                        )
                        return aggregate.aggregate?.state == .resolved
                    }
                }
                let identifiers = try await Self.alerts(township).map(\.identifier)
                #expect(identifiers == [hazard.alertIdentifier, "hazard-closed-\(hazard.id)-0"])
            }
        }
    }

    @Test("a road hazard a patrol finds is reported to the hazards service once, through the patrol service's outbox")
    func patrolFindingReportedOnce() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-hazards") { _ in
                try await Harness.withService(township, "sanlian-patrol") { _ in
                    let finding = try await township.withClient("station") { client in
                        let assignment = try await PatrolFixture.assignment(
                            client,
                            area: PatrolV1.PatrolArea(id: "g318", name: "G318", kind: .road)
                        )
                        return try await PatrolV1.PatrolsClient(client, options: Self.options()).reportFinding(
                            PatrolV1.ReportFindingRequest(
                                assignmentID: assignment.id,
                                kind: .roadHazard,
                                place: CommonV1.Place(villageCode: "511681104201", description: "G318 K1203"),
                                description: "G318 K1203 路面落石"
                            )
                        )
                    }
                    #expect(finding.hazardReported)
                    try await township.withClient("station") { client in
                        let hazards = HazardsV1.HazardsClient(client, options: Self.options())
                        try await eventually("the finding among the hazards") {
                            try await !hazards.list(HazardsV1.ListHazardsRequest()).hazards.isEmpty
                        }
                        let listed = try await hazards.list(HazardsV1.ListHazardsRequest()).hazards
                        #expect(listed.count == 1)
                        #expect(listed.first?.identifier == "patrol-finding-\(finding.id)")
                        #expect(listed.first?.reportingDepartment == "governance")
                        #expect(listed.first?.responsibleDepartment == "traffic")
                    }
                }
            }
        }
    }
}
