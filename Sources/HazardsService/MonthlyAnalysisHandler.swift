import GRDB
package import HazardsContract
import HazardsRules
import SanlianClock
import SanlianCompose
package import SanlianRPC
import SanlianWire
import ServiceFrame

// 每月分析研判: the month's disputes and hazards, beside the previous month and a year earlier.
extension HazardsService {
    package func monthlyAnalysis(_ request: HazardsV1.MonthlyAnalysisRequest, context call: ServerContext) async throws
        -> HazardsV1.MonthlyAnalysisReport
    {
        try await monthlyAnalysis(request, now: context.clock.nowMilliseconds())
    }

    func monthlyAnalysis(_ request: HazardsV1.MonthlyAnalysisRequest, now: Int64) async throws
        -> HazardsV1.MonthlyAnalysisReport
    {
        guard let month = request.month, (1...12).contains(month.month), (1971...9998).contains(month.year) else {
            throw RPCError(.invalidArgument, "month: a year and a month 1–12 must be given")
        }
        let time = settings.time
        func span(_ year: Int32, _ month: Int32) -> (from: Int64, to: Int64) {
            let (first, next) = LocalDay.month(year: Int(year), month: Int(month))!
            return (time.unixMilliseconds(first, minute: 0), time.unixMilliseconds(next, minute: 0))
        }
        let current = span(month.year, month.month)
        let previous = month.month == 1 ? span(month.year - 1, 12) : span(month.year, month.month - 1)
        let yearEarlier = span(month.year - 1, month.month)
        let (disputes, hazards) = try await context.database.pool.read { db in
            // Everything the three months touch: disputes accepted before the month's end (the
            // stock), hazards reported, closed or escalated within the three months.
            var followUps: [String: [(dueMs: Int64, doneMs: Int64?)]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT dispute_id, due_ms, done_ms FROM follow_ups ORDER BY id") {
                followUps[row["dispute_id"], default: []].append((row["due_ms"], row["done_ms"]))
            }
            let disputes = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, category, grade, channel, village, accepted_ms, resolved_ms, referred_ms, closed_ms,
                        recurrence_of, drill
                    FROM disputes WHERE accepted_ms < ? AND drill = 0
                    """,
                arguments: [current.to]
            ).map { row in
                DisputeFacts(
                    id: row["id"],
                    category: DisputeCategory(rawValue: row["category"]) ?? .other,
                    grade: (row["grade"] as Int32?).flatMap(DisputeGrade.init(rawValue:)),
                    channel: (row["channel"] as Int32?).flatMap(MediationChannel.init(rawValue:)),
                    villageCode: row["village"],
                    acceptedMs: row["accepted_ms"],
                    resolvedMs: row["resolved_ms"],
                    referredMs: row["referred_ms"],
                    closedMs: row["closed_ms"],
                    recurrence: (row["recurrence_of"] as String?) != nil,
                    drill: row["drill"],
                    followUps: followUps[row["id"]] ?? []
                )
            }
            var escalations: [String: [Int64]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT hazard_id, at_ms FROM hazard_escalations") {
                escalations[row["hazard_id"], default: []].append(row["at_ms"])
            }
            let windows = [current, previous, yearEarlier]
            let hazards = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, kind, department, reported_ms, closed_ms, drill FROM hazards
                    WHERE drill = 0 AND ((reported_ms >= ? AND reported_ms < ?) OR (reported_ms >= ? AND reported_ms < ?)
                        OR (reported_ms >= ? AND reported_ms < ?) OR (closed_ms >= ? AND closed_ms < ?)
                        OR (closed_ms >= ? AND closed_ms < ?) OR (closed_ms >= ? AND closed_ms < ?)
                        OR id IN (SELECT hazard_id FROM hazard_escalations))
                    """,
                arguments: StatementArguments((windows + windows).flatMap { [$0.from, $0.to] })
            ).map { row in
                HazardFacts(
                    kind: HazardKind(rawValue: row["kind"]) ?? .other,
                    department: row["department"],
                    reportedMs: row["reported_ms"],
                    closedMs: row["closed_ms"],
                    escalationsMs: escalations[row["id"]] ?? [],
                    drill: row["drill"]
                )
            }
            return (disputes, hazards)
        }
        let analysis = MonthlyAnalysis.analyse(
            now: now,
            month: current,
            previous: previous,
            yearEarlier: yearEarlier,
            disputes: disputes,
            hazards: hazards
        )
        func figures(_ figures: HazardsRules.MonthFigures) -> HazardsV1.MonthFigures {
            HazardsV1.MonthFigures(
                newDisputes: UInt32(figures.newDisputes),
                resolved: UInt32(figures.resolved),
                referredUpward: UInt32(figures.referredUpward),
                inStock: UInt32(figures.inStock),
                resolutionRatePermille: UInt32(figures.resolutionRatePermille),
                averageDaysToResolveTenths: UInt32(figures.averageDaysToResolveTenths),
                longestDaysToResolve: UInt32(figures.longestDaysToResolve),
                recurrences: UInt32(figures.recurrences),
                followUpsDue: UInt32(figures.followUpsDue),
                followUpsDone: UInt32(figures.followUpsDone),
                followUpsLate: UInt32(figures.followUpsLate),
                hazardsReported: UInt32(figures.hazardsReported),
                hazardsClosed: UInt32(figures.hazardsClosed),
                hazardsOverdue: UInt32(figures.hazardsOverdue)
            )
        }
        return HazardsV1.MonthlyAnalysisReport(
            month: month,
            disputes: analysis.disputes.map { entry in
                HazardsV1.DisputeCount(
                    category: HazardsV1.DisputeCategory(rawValue: entry.cell.category.rawValue),
                    grade: HazardsV1.DisputeGrade(rawValue: entry.cell.grade?.rawValue ?? 0),
                    channel: HazardsV1.MediationChannel(rawValue: entry.cell.channel?.rawValue ?? 0),
                    villageCode: entry.cell.villageCode,
                    count: UInt32(entry.count)
                )
            },
            hazards: analysis.hazards.map { row in
                HazardsV1.HazardCount(
                    kind: HazardsV1.HazardKind(rawValue: row.kind.rawValue),
                    responsibleDepartment: row.department,
                    count: UInt32(row.reported),
                    averageHandlingMinutes: UInt32(row.averageHandlingMinutes),
                    closed: UInt32(row.closed),
                    overdue: UInt32(row.overdue),
                    longestHandlingMinutes: UInt32(row.longestHandlingMinutes)
                )
            },
            figures: figures(analysis.figures),
            previousMonth: figures(analysis.previousMonth),
            yearEarlier: figures(analysis.yearEarlier)
        )
    }
}
