import SanlianClock

/// What counts toward a volunteer's hours in a month.
package struct PatrolRecord: Sendable, Equatable {
    package enum Outcome: Sendable, Equatable {
        case completed
        case noShow
        /// Neither yet (assigned, confirmed).
        case open
    }

    package var volunteerID: String
    package var outcome: Outcome
    /// From the first check-in to the check-out, or to the shift's end when none came.
    package var patrolMinutes: Int
    package var missedCheckIns: Int

    package init(volunteerID: String, outcome: Outcome, patrolMinutes: Int, missedCheckIns: Int) {
        self.volunteerID = volunteerID
        self.outcome = outcome
        self.patrolMinutes = patrolMinutes
        self.missedCheckIns = missedCheckIns
    }
}

/// A volunteer's month, summed.
package struct HoursTotal: Sendable, Equatable {
    package var patrolMinutes = 0
    package var publicityMinutes = 0
    package var shiftsCompleted = 0
    package var noShows = 0
    package var missedCheckIns = 0

    package init() {}

    package static func + (lhs: HoursTotal, rhs: HoursTotal) -> HoursTotal {
        var sum = lhs
        sum.patrolMinutes += rhs.patrolMinutes
        sum.publicityMinutes += rhs.publicityMinutes
        sum.shiftsCompleted += rhs.shiftsCompleted
        sum.noShows += rhs.noShows
        sum.missedCheckIns += rhs.missedCheckIns
        return sum
    }
}

/// Sums a month's patrols and publicity sessions per volunteer.
package enum PatrolHours {
    /// - Parameters:
    ///   - sessions: each publicity session's length in minutes and the volunteers who ran it.
    package static func perVolunteer(
        patrols: [PatrolRecord],
        sessions: [(minutes: Int, volunteerIDs: [String])]
    ) -> [String: HoursTotal] {
        var totals: [String: HoursTotal] = [:]
        for patrol in patrols {
            var total = totals[patrol.volunteerID, default: HoursTotal()]
            total.patrolMinutes += patrol.patrolMinutes
            total.missedCheckIns += patrol.missedCheckIns
            switch patrol.outcome {
            case .completed: total.shiftsCompleted += 1
            case .noShow: total.noShows += 1
            case .open: break
            }
            totals[patrol.volunteerID] = total
        }
        for session in sessions {
            // A volunteer named twice on one session counts once.
            for volunteerID in Set(session.volunteerIDs) {
                totals[volunteerID, default: HoursTotal()].publicityMinutes += session.minutes
            }
        }
        return totals
    }
}
