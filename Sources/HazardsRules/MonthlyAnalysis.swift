/// A dispute as the monthly analysis counts it.
package struct DisputeFacts: Sendable, Equatable {
    package var id: String
    package var category: DisputeCategory
    /// nil until assessed.
    package var grade: DisputeGrade?
    /// nil until routed.
    package var channel: MediationChannel?
    package var villageCode: String
    package var acceptedMs: Int64
    package var resolvedMs: Int64?
    package var referredMs: Int64?
    package var closedMs: Int64?
    package var recurrence: Bool
    package var drill: Bool
    package var followUps: [(dueMs: Int64, doneMs: Int64?)]

    package init(
        id: String,
        category: DisputeCategory,
        grade: DisputeGrade?,
        channel: MediationChannel?,
        villageCode: String,
        acceptedMs: Int64,
        resolvedMs: Int64? = nil,
        referredMs: Int64? = nil,
        closedMs: Int64? = nil,
        recurrence: Bool = false,
        drill: Bool = false,
        followUps: [(dueMs: Int64, doneMs: Int64?)] = []
    ) {
        self.id = id
        self.category = category
        self.grade = grade
        self.channel = channel
        self.villageCode = villageCode
        self.acceptedMs = acceptedMs
        self.resolvedMs = resolvedMs
        self.referredMs = referredMs
        self.closedMs = closedMs
        self.recurrence = recurrence
        self.drill = drill
        self.followUps = followUps
    }

    package static func == (lhs: DisputeFacts, rhs: DisputeFacts) -> Bool {
        lhs.id == rhs.id && lhs.acceptedMs == rhs.acceptedMs
    }
}

/// A hazard as the monthly analysis counts it.
package struct HazardFacts: Sendable, Equatable {
    package var kind: HazardKind
    package var department: String
    package var reportedMs: Int64
    package var closedMs: Int64?
    /// When each overdue escalation was raised.
    package var escalationsMs: [Int64]
    package var drill: Bool

    package init(
        kind: HazardKind,
        department: String,
        reportedMs: Int64,
        closedMs: Int64? = nil,
        escalationsMs: [Int64] = [],
        drill: Bool = false
    ) {
        self.kind = kind
        self.department = department
        self.reportedMs = reportedMs
        self.closedMs = closedMs
        self.escalationsMs = escalationsMs
        self.drill = drill
    }
}

/// A month's figures (`hazards.v1.MonthFigures`, whose comments define each).
package struct MonthFigures: Sendable, Equatable {
    package var newDisputes = 0
    package var resolved = 0
    package var referredUpward = 0
    package var inStock = 0
    package var resolutionRatePermille = 0
    package var averageDaysToResolveTenths = 0
    package var longestDaysToResolve = 0
    package var recurrences = 0
    package var followUpsDue = 0
    package var followUpsDone = 0
    package var followUpsLate = 0
    package var hazardsReported = 0
    package var hazardsClosed = 0
    package var hazardsOverdue = 0

    package init() {}
}

/// One cell of the month's disputes: category × grade × channel × village.
package struct DisputeCell: Sendable, Hashable, Comparable {
    package var category: DisputeCategory
    package var grade: DisputeGrade?
    package var channel: MediationChannel?
    package var villageCode: String

    package static func < (lhs: DisputeCell, rhs: DisputeCell) -> Bool {
        (lhs.category.rawValue, lhs.grade?.rawValue ?? 0, lhs.channel?.rawValue ?? 0, lhs.villageCode)
            < (rhs.category.rawValue, rhs.grade?.rawValue ?? 0, rhs.channel?.rawValue ?? 0, rhs.villageCode)
    }
}

/// One row of the month's hazards: kind × responsible department.
package struct HazardRow: Sendable, Equatable {
    package var kind: HazardKind
    package var department: String
    package var reported = 0
    package var closed = 0
    package var overdue = 0
    package var averageHandlingMinutes = 0
    package var longestHandlingMinutes = 0
}

/// The monthly analysis (每月分析研判): the month's figures beside the previous month's and the
/// same month a year earlier, the month's disputes by category × grade × channel × village, and
/// its hazards by kind and department. A function of its data alone: the same data gives the
/// same report. Drills never count.
package struct MonthlyAnalysis: Sendable, Equatable {
    package var figures: MonthFigures
    package var previousMonth: MonthFigures
    package var yearEarlier: MonthFigures
    /// In order of category, grade, channel and village.
    package var disputes: [(cell: DisputeCell, count: Int)]
    /// In order of kind, then department.
    package var hazards: [HazardRow]

    package static func == (lhs: MonthlyAnalysis, rhs: MonthlyAnalysis) -> Bool {
        lhs.figures == rhs.figures && lhs.previousMonth == rhs.previousMonth && lhs.yearEarlier == rhs.yearEarlier
            && lhs.disputes.map(\.cell) == rhs.disputes.map(\.cell)
            && lhs.disputes.map(\.count) == rhs.disputes.map(\.count)
            && lhs.hazards == rhs.hazards
    }

    /// - Parameters:
    ///   - month: [from, to) of the month in Unix ms; `previous` and `yearEarlier` likewise.
    ///   - now: when the analysis is made: a follow-up not yet due by then is not late.
    package static func analyse(
        now: Int64,
        month: (from: Int64, to: Int64),
        previous: (from: Int64, to: Int64),
        yearEarlier: (from: Int64, to: Int64),
        disputes allDisputes: [DisputeFacts],
        hazards allHazards: [HazardFacts]
    ) -> MonthlyAnalysis {
        let disputes = allDisputes.filter { !$0.drill }
        let hazards = allHazards.filter { !$0.drill }
        var cells: [DisputeCell: Int] = [:]
        for dispute in disputes where (month.from..<month.to).contains(dispute.acceptedMs) {
            cells[
                DisputeCell(
                    category: dispute.category,
                    grade: dispute.grade,
                    channel: dispute.channel,
                    villageCode: dispute.villageCode
                ),
                default: 0
            ] += 1
        }
        var rows: [String: HazardRow] = [:]
        var handling: [String: [Int64]] = [:]
        for hazard in hazards {
            let key = "\(hazard.kind.rawValue)/\(hazard.department)"
            var row = rows[key] ?? HazardRow(kind: hazard.kind, department: hazard.department)
            var touched = false
            if (month.from..<month.to).contains(hazard.reportedMs) {
                row.reported += 1
                touched = true
            }
            if let closed = hazard.closedMs, (month.from..<month.to).contains(closed) {
                row.closed += 1
                handling[key, default: []].append(closed - hazard.reportedMs)
                touched = true
            }
            if hazard.escalationsMs.contains(where: { (month.from..<month.to).contains($0) }) {
                row.overdue += 1
                touched = true
            }
            if touched { rows[key] = row }
        }
        for (key, minutes) in handling {
            rows[key]!.averageHandlingMinutes = Int(minutes.reduce(0, +) / Int64(minutes.count) / 60_000)
            rows[key]!.longestHandlingMinutes = Int((minutes.max() ?? 0) / 60_000)
        }
        return MonthlyAnalysis(
            figures: figures(month, disputes, hazards, now: now),
            previousMonth: figures(previous, disputes, hazards, now: now),
            yearEarlier: figures(yearEarlier, disputes, hazards, now: now),
            disputes: cells.keys.sorted().map { ($0, cells[$0]!) },
            hazards: rows.values.sorted { ($0.kind.rawValue, $0.department) < ($1.kind.rawValue, $1.department) }
        )
    }

    static func figures(
        _ month: (from: Int64, to: Int64),
        _ disputes: [DisputeFacts],
        _ hazards: [HazardFacts],
        now: Int64
    ) -> MonthFigures {
        var figures = MonthFigures()
        let within = { (time: Int64?) in time.map { (month.from..<month.to).contains($0) } ?? false }
        /// Open at `time`: accepted by then and not yet resolved, referred or closed.
        func open(_ dispute: DisputeFacts, at time: Int64) -> Bool {
            dispute.acceptedMs < time
                && !([dispute.resolvedMs, dispute.referredMs, dispute.closedMs].contains { ($0 ?? .max) < time })
        }
        var stockAtStart = 0
        var days: [Int64] = []
        for dispute in disputes {
            if within(dispute.acceptedMs) {
                figures.newDisputes += 1
                if dispute.recurrence { figures.recurrences += 1 }
            }
            if within(dispute.resolvedMs) {
                figures.resolved += 1
                days.append(dispute.resolvedMs! - dispute.acceptedMs)
            }
            if within(dispute.referredMs) { figures.referredUpward += 1 }
            if open(dispute, at: month.to) { figures.inStock += 1 }
            if open(dispute, at: month.from) { stockAtStart += 1 }
            for followUp in dispute.followUps {
                if within(followUp.dueMs) {
                    figures.followUpsDue += 1
                    // Late: done after its due time, or not done though its time has passed.
                    if followUp.doneMs.map({ $0 > followUp.dueMs }) ?? (followUp.dueMs < now) {
                        figures.followUpsLate += 1
                    }
                }
                if within(followUp.doneMs) { figures.followUpsDone += 1 }
            }
        }
        let base = figures.newDisputes + stockAtStart
        figures.resolutionRatePermille = base == 0 ? 0 : figures.resolved * 1000 / base
        if !days.isEmpty {
            let day: Int64 = 86_400_000
            figures.averageDaysToResolveTenths = Int(days.reduce(0, +) * 10 / Int64(days.count) / day)
            figures.longestDaysToResolve = Int((days.max()! + day - 1) / day)
        }
        for hazard in hazards {
            if within(hazard.reportedMs) { figures.hazardsReported += 1 }
            if within(hazard.closedMs) { figures.hazardsClosed += 1 }
            if hazard.escalationsMs.contains(where: { within($0) }) { figures.hazardsOverdue += 1 }
        }
        return figures
    }
}
