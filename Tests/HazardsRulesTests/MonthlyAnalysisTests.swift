import HazardsRules
import Testing

/// A fixture month, March 2027 (in UTC for simplicity), with the figures worked out by hand.
@Suite("The monthly analysis on a fixture month, figure by figure")
struct MonthlyAnalysisTests {
    static let day: Int64 = 86_400_000
    // 2027-03-01T00:00Z, 2027-04-01, 2027-02-01, 2026-03-01, 2026-04-01.
    static let march: Int64 = 1_803_859_200_000
    static let april: Int64 = march + 31 * day
    static let february: Int64 = march - 28 * day
    static let march2026: Int64 = march - 365 * day
    static let april2026: Int64 = march2026 + 31 * day

    static func at(_ day: Int, _ month: Int64 = march) -> Int64 { month + Int64(day - 1) * Self.day }

    static let disputes: [DisputeFacts] = [
        // Accepted in February, resolved on March 3 after 10 days: stock at the start, resolved.
        DisputeFacts(
            id: "F1",
            category: .publicOrder,
            grade: .simple,
            channel: .policeAdministrative,
            villageCode: "v1",
            acceptedMs: at(21, february),
            resolvedMs: at(3)
        ),
        // Accepted in February, still open: stock at both ends; a follow-up due March 10 done March 12 (late).
        DisputeFacts(
            id: "F2",
            category: .labourWages,
            grade: .general,
            channel: .peoples,
            villageCode: "v2",
            acceptedMs: at(25, february),
            followUps: [(at(10), at(12))]
        ),
        // New in March, resolved March 11 after 4 days.
        DisputeFacts(
            id: "M1",
            category: .publicOrder,
            grade: .simple,
            channel: .policeAdministrative,
            villageCode: "v1",
            acceptedMs: at(7),
            resolvedMs: at(11)
        ),
        // New in March, a recurrence, referred upward March 20.
        DisputeFacts(
            id: "M2",
            category: .landRequisition,
            grade: .major,
            channel: .judicial,
            villageCode: "v3",
            acceptedMs: at(8),
            referredMs: at(20),
            recurrence: true
        ),
        // New in March, open: a follow-up due March 25 done on time, one due March 30 not done.
        DisputeFacts(
            id: "M3",
            category: .publicOrder,
            grade: .simple,
            channel: .policeAdministrative,
            villageCode: "v1",
            acceptedMs: at(15),
            followUps: [(at(25), at(24)), (at(30), nil)]
        ),
        // New in March, not yet assessed.
        DisputeFacts(id: "M4", category: .other, grade: nil, channel: nil, villageCode: "v2", acceptedMs: at(31)),
        // A drill: never counted.
        DisputeFacts(
            id: "X1",
            category: .publicOrder,
            grade: .simple,
            channel: .policeAdministrative,
            villageCode: "v1",
            acceptedMs: at(9),
            resolvedMs: at(10),
            drill: true
        ),
        // A year earlier: two new, one resolved in 2 days.
        DisputeFacts(
            id: "Y1",
            category: .safety,
            grade: .general,
            channel: .professional,
            villageCode: "v1",
            acceptedMs: at(5, march2026),
            resolvedMs: at(7, march2026),
            closedMs: at(8, march2026)
        ),
        DisputeFacts(
            id: "Y2",
            category: .safety,
            grade: .general,
            channel: .professional,
            villageCode: "v1",
            acceptedMs: at(6, march2026),
            resolvedMs: at(9, march2026)
        ),
    ]

    static let hazards: [HazardFacts] = [
        HazardFacts(kind: .traffic, department: "traffic", reportedMs: at(2), closedMs: at(2) + 90 * 60_000),
        HazardFacts(kind: .traffic, department: "traffic", reportedMs: at(4), closedMs: at(4) + 30 * 60_000),
        HazardFacts(kind: .fire, department: "safety", reportedMs: at(5), escalationsMs: [at(6), at(8)]),
        HazardFacts(kind: .fire, department: "safety", reportedMs: at(20, february), closedMs: at(1) + 60_000),
        HazardFacts(kind: .fire, department: "safety", reportedMs: at(6), closedMs: at(7), drill: true),
    ]

    static var analysis: MonthlyAnalysis {
        MonthlyAnalysis.analyse(
            now: april + 5 * day,
            month: (march, april),
            previous: (february, march),
            yearEarlier: (march2026, april2026),
            disputes: disputes,
            hazards: hazards
        )
    }

    @Test("the month's figures")
    func figures() {
        let figures = Self.analysis.figures
        #expect(figures.newDisputes == 4)
        #expect(figures.resolved == 2)
        #expect(figures.referredUpward == 1)
        // F2, M3, M4 open at the month's end.
        #expect(figures.inStock == 3)
        // 2 resolved of 4 new + 2 in stock at the start.
        #expect(figures.resolutionRatePermille == 333)
        // 10 and 4 days.
        #expect(figures.averageDaysToResolveTenths == 70)
        #expect(figures.longestDaysToResolve == 10)
        #expect(figures.recurrences == 1)
        #expect(figures.followUpsDue == 3)
        #expect(figures.followUpsDone == 2)
        // F2's done two days late, M3's second not done.
        #expect(figures.followUpsLate == 2)
        #expect(figures.hazardsReported == 3)
        #expect(figures.hazardsClosed == 3)
        #expect(figures.hazardsOverdue == 1)
    }

    @Test("beside the previous month and the same month a year earlier")
    func comparisons() {
        let analysis = Self.analysis
        #expect(analysis.previousMonth.newDisputes == 2)
        #expect(analysis.previousMonth.inStock == 2)
        #expect(analysis.previousMonth.hazardsReported == 1)
        #expect(analysis.yearEarlier.newDisputes == 2)
        #expect(analysis.yearEarlier.resolved == 2)
        // 2 and 3 days.
        #expect(analysis.yearEarlier.averageDaysToResolveTenths == 25)
        #expect(analysis.yearEarlier.resolutionRatePermille == 1000)
    }

    @Test("the month's disputes by category × grade × channel × village, in order; hazards by kind and department")
    func breakdowns() {
        let analysis = Self.analysis
        #expect(analysis.disputes.map(\.count) == [1, 2, 1])
        #expect(analysis.disputes.map(\.cell.category) == [.landRequisition, .publicOrder, .other])
        #expect(analysis.disputes[1].cell.villageCode == "v1")
        #expect(analysis.hazards.count == 2)
        let traffic = analysis.hazards[0]
        #expect(traffic.kind == .traffic && traffic.reported == 2 && traffic.closed == 2)
        #expect(traffic.averageHandlingMinutes == 60 && traffic.longestHandlingMinutes == 90)
        let fire = analysis.hazards[1]
        #expect(fire.reported == 1 && fire.closed == 1 && fire.overdue == 1)
        #expect(fire.longestHandlingMinutes == (Self.at(1) + 60_000 - Self.at(20, Self.february)) / 60_000)
    }

    @Test("the same data gives the same report, in any order")
    func deterministic() {
        let shuffled = MonthlyAnalysis.analyse(
            now: Self.april + 5 * Self.day,
            month: (Self.march, Self.april),
            previous: (Self.february, Self.march),
            yearEarlier: (Self.march2026, Self.april2026),
            disputes: Self.disputes.reversed(),
            hazards: Self.hazards.reversed()
        )
        #expect(shuffled == Self.analysis)
    }
}
