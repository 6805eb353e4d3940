import GRDB
import HazardsContract
import PatrolContract
import ResidentsContract
import SanlianClock
import SanlianCompose
import SanlianContracts
package import SanlianRPC
import SanlianWire
import ServiceFrame
package import StationContract
import StationRules

// The daily summary and the monthly report: the station's own figures from its database, and
// each department's as its service answers through the broker (named in `unavailable` when it
// does not). Drills never count.
extension StationService: StationV1.ReportsService {
    package func getDailySummary(_ request: StationV1.DailySummaryRequest, context call: ServerContext) async throws
        -> StationV1.DailySummary
    {
        let now = context.clock.nowMilliseconds()
        let today = time.day(of: now)
        let day = try StationRecords.date(request.date.isEmpty ? today.description : request.date, "date", today: today)
        let from = time.unixMilliseconds(day, minute: 0)
        let to = time.unixMilliseconds(day.adding(days: 1), minute: 0)
        // The state at the day's end, or now for today.
        let asOf = min(to, now)
        var summary = try await context.database.pool.read { db in
            var summary = StationV1.DailySummary(date: day.description)
            func count(_ sql: String, _ arguments: StatementArguments) throws -> UInt32 {
                UInt32(try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0)
            }
            summary.tasksDispatched = try count(
                "SELECT COUNT(*) FROM tasks WHERE NOT drill AND dispatched_ms >= ? AND dispatched_ms < ?",
                [from, to]
            )
            summary.tasksCompleted = try count(
                "SELECT COUNT(*) FROM tasks WHERE NOT drill AND completed_ms >= ? AND completed_ms < ?",
                [from, to]
            )
            let open = "NOT drill AND dispatched_ms < ? AND (completed_ms IS NULL OR completed_ms >= ?)"
            summary.tasksOpen = try count("SELECT COUNT(*) FROM tasks WHERE \(open)", [asOf, asOf])
            summary.tasksOverdue = try count(
                "SELECT COUNT(*) FROM tasks WHERE \(open) AND due_ms < ?",
                [asOf, asOf, asOf]
            )
            summary.overdueTasks = try Row.fetchAll(
                db,
                sql: "SELECT body FROM tasks WHERE \(open) AND due_ms < ? ORDER BY due_ms, id LIMIT 20",
                arguments: [asOf, asOf, asOf]
            ).map {
                var task = try StationRecords.decode(StationV1.Task.self, $0)
                task.overdue = true
                return task
            }
            summary.cases = try count("SELECT COUNT(*) FROM cases WHERE NOT drill AND date = ?", [day.description])
            summary.casesCleared = try count(
                "SELECT COUNT(*) FROM cases WHERE NOT drill AND cleared_date = ?",
                [day.description]
            )
            for row in try Row.fetchAll(
                db,
                sql: "SELECT body FROM accidents WHERE NOT drill AND date = ?",
                arguments: [day.description]
            ) {
                let accident = try StationRecords.decode(StationV1.AccidentRecord.self, row)
                summary.accidents += 1
                summary.accidentDeaths += accident.deaths
                summary.accidentInjuries += accident.injuries
            }
            return summary
        }
        let options = CallOptions(deadline: call.deadline)
        let range = CommonV1.TimeRange(fromUnixMs: from, toUnixMs: to)
        let firstOnly = CommonV1.PageRequest(pageSize: 1)
        do {
            summary.hazardsReported =
                try await HazardsV1.HazardsClient(context.broker, options: options)
                .list(HazardsV1.ListHazardsRequest(range: range, page: firstOnly)).page?.total ?? 0
            summary.disputesAccepted =
                try await HazardsV1.DisputesClient(context.broker, options: options)
                .list(HazardsV1.ListDisputesRequest(range: range, page: firstOnly)).page?.total ?? 0
        } catch {
            summary.unavailable.append("sanlian-hazards: \(error.code.protoName) \(error.message)")
        }
        do {
            summary.alertsFiring =
                try await BrokerV1.BrokerClient(context.broker, options: options)
                .listAggregates(BrokerV1.ListAggregatesRequest(states: [.firing], page: firstOnly)).page?.total ?? 0
        } catch {
            summary.unavailable.append("sanlian-broker: \(error.code.protoName) \(error.message)")
        }
        return summary
    }

    package func getMonthlyReport(_ request: StationV1.MonthlyReportRequest, context call: ServerContext) async throws
        -> StationV1.MonthlyReport
    {
        guard let month = request.month else {
            throw RPCError(.invalidArgument, "month: a year and a month must be given")
        }
        _ = try StationRecords.days(of: month)
        let months = [month, StationRecords.previous(month), CommonV1.Month(year: month.year - 1, month: month.month)]
        var sections = months.map { StationV1.MonthSection(month: $0) }
        for index in sections.indices { try await ownFigures(&sections[index]) }
        var unavailable: [String] = []
        let options = CallOptions(deadline: call.deadline)

        // Disputes and hazards: one analysis gives the month, the previous one and a year earlier.
        do {
            let analysis = try await HazardsV1.DisputesClient(context.broker, options: options)
                .monthlyAnalysis(HazardsV1.MonthlyAnalysisRequest(month: month))
            for (index, figures) in [analysis.figures, analysis.previousMonth, analysis.yearEarlier].enumerated() {
                guard let figures else { continue }
                sections[index].newDisputes = figures.newDisputes
                sections[index].disputesResolved = figures.resolved
                sections[index].disputesInStock = figures.inStock
                sections[index].disputeResolutionPermille = figures.resolutionRatePermille
                sections[index].disputeRecurrences = figures.recurrences
                sections[index].hazardsReported = figures.hazardsReported
                sections[index].hazardsClosed = figures.hazardsClosed
                sections[index].hazardsOverdue = figures.hazardsOverdue
            }
        } catch {
            unavailable.append("sanlian-hazards: \(error.code.protoName) \(error.message)")
        }
        do {
            for index in sections.indices { try await patrolFigures(&sections[index], options: options) }
        } catch let error as RPCError {
            unavailable.append("sanlian-patrol: \(error.code.protoName) \(error.message)")
        }
        do {
            for index in sections.indices {
                let asked = sections[index].month
                let population = try await ResidentsV1.PopulationClient(context.broker, options: options)
                    .statistics(ResidentsV1.StatisticsRequest(month: asked))
                if let township = population.township {
                    sections[index].registered = township.registered
                    sections[index].floating = township.floating
                    sections[index].arrivals = township.arrivals
                    sections[index].departures = township.departures
                }
                let rates = try await ResidentsV1.WindowServicesClient(context.broker, options: options)
                    .monthlyRates(ResidentsV1.WindowRatesRequest(month: asked))
                sections[index].windowServices = rates.total
                sections[index].onTheSpotPermille = rates.onTheSpotPermille
                sections[index].sameDayPermille = rates.sameDayPermille
            }
        } catch {
            unavailable.append("sanlian-residents: \(error.code.protoName) \(error.message)")
        }
        return StationV1.MonthlyReport(
            month: sections[0],
            previousMonth: sections[1],
            yearEarlier: sections[2],
            unavailable: unavailable
        )
    }

    /// Tasks, cases and accidents of `section`'s month, from the station's own records.
    private func ownFigures(_ section: inout StationV1.MonthSection) async throws {
        let month = section.month!
        let (from, to) = try StationRecords.span(month, time: time)
        let days = try StationRecords.days(of: month)
        let (first, next) = (days.first.description, days.next.description)
        section = try await context.database.pool.read { [section] db in
            var section = section
            func count(_ sql: String, _ arguments: StatementArguments) throws -> Int {
                try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
            }
            let dispatched = "NOT drill AND dispatched_ms >= ? AND dispatched_ms < ?"
            section.tasksDispatched = UInt32(try count("SELECT COUNT(*) FROM tasks WHERE \(dispatched)", [from, to]))
            section.tasksDoneOnTime = UInt32(
                try count("SELECT COUNT(*) FROM tasks WHERE \(dispatched) AND completed_ms <= due_ms", [from, to])
            )
            let inMonth = "NOT drill AND date >= ? AND date < ?"
            let cases = try count("SELECT COUNT(*) FROM cases WHERE \(inMonth)", [first, next])
            let cleared = try count(
                "SELECT COUNT(*) FROM cases WHERE \(inMonth) AND cleared_date IS NOT NULL",
                [first, next]
            )
            section.cases = UInt32(cases)
            section.casesCleared = UInt32(cleared)
            section.clearancePermille = ReportFigures.permille(cleared, of: cases)
            for row in try Row.fetchAll(
                db,
                sql: "SELECT body FROM accidents WHERE \(inMonth)",
                arguments: [first, next]
            ) {
                let accident = try StationRecords.decode(StationV1.AccidentRecord.self, row)
                section.accidents += 1
                section.accidentDeaths += accident.deaths
                section.accidentInjuries += accident.injuries
            }
            return section
        }
    }

    /// Shifts, no-shows, missed check-ins, hours and publicity of `section`'s month, as
    /// sanlian-patrol counts them (its volunteers page by page).
    private func patrolFigures(_ section: inout StationV1.MonthSection, options: CallOptions) async throws {
        let patrols = PatrolV1.PublicityClient(context.broker, options: options)
        var token = ""
        var first = true
        repeat {
            let page = try await patrols.hoursSummary(
                PatrolV1.HoursSummaryRequest(
                    month: section.month,
                    page: CommonV1.PageRequest(pageSize: 1000, pageToken: token)
                )
            )
            if first {
                section.patrolMinutes = page.patrolMinutes
                section.publicityMinutes = page.publicityMinutes
                section.publicitySessions = page.sessions
                section.publicityAttendees = page.attendees
                first = false
            }
            for volunteer in page.volunteers {
                section.shiftsCompleted += volunteer.shiftsCompleted
                section.noShows += volunteer.noShows
                section.missedCheckIns += volunteer.missedCheckIns
            }
            token = page.page?.nextPageToken ?? ""
        } while !token.isEmpty
    }
}

extension StationV1.MonthSection {
    init(month: CommonV1.Month) {
        self.init()
        self.month = month
    }
}
