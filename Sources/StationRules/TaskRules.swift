/// The command room's tasks (勤务任务): who they go to, who may act on them, and in which order.
/// No database and no socket: the service holds these to its records.
package enum TaskRules {
    package enum State: Int, Sendable, CaseIterable {
        case dispatched = 1
        case acknowledged = 2
        case inProgress = 3
        case completed = 4

        package var name: String {
            switch self {
            case .dispatched: "dispatched"
            case .acknowledged: "acknowledged"
            case .inProgress: "in_progress"
            case .completed: "completed"
            }
        }
    }

    package enum Action: Sendable {
        case acknowledge
        case reportProgress
        case complete

        package var name: String {
            switch self {
            case .acknowledge: "acknowledge"
            case .reportProgress: "report progress on"
            case .complete: "complete"
            }
        }
    }

    /// The station's teams, and the department each works with.
    package enum Team: Int, Sendable, CaseIterable {
        /// 农村交管队
        case ruralTraffic = 1
        /// 农村警务队
        case ruralPolicing = 2
        /// The volunteer patrol team (联防队).
        case patrol = 3

        package var department: String {
            switch self {
            case .ruralTraffic: "traffic"
            case .ruralPolicing: "station"
            case .patrol: "governance"
            }
        }
    }

    /// A refusal, with the field or the states it is about.
    package struct Refusal: Error, Equatable, CustomStringConvertible {
        package var description: String
        package init(_ description: String) { self.description = description }
    }

    /// The state `action` takes a task in `state` to.
    /// - Throws: `Refusal` naming both states when the action is out of order.
    package static func next(_ state: State, _ action: Action) throws(Refusal) -> State {
        switch (state, action) {
        case (.dispatched, .acknowledge): return .acknowledged
        case (.acknowledged, .reportProgress), (.inProgress, .reportProgress): return .inProgress
        case (.acknowledged, .complete), (.inProgress, .complete): return .completed
        default:
            throw Refusal("cannot \(action.name) a task that is \(state.name)")
        }
    }

    /// The department that acts on a task dispatched to `team`, or else to `department`.
    package static func assignee(team: Team?, department: String) -> String {
        team?.department ?? department
    }

    /// Whether `caller` (a department) may act on a task whose assignee is `assignee`: the
    /// assignee itself, or the station for any.
    package static func mayAct(caller: String, assignee: String) -> Bool {
        caller == assignee || caller == "station"
    }

    /// Whether a task due at `due` is overdue at `now`: not completed by then, or completed after.
    package static func isOverdue(due: Int64, completedAt: Int64?, now: Int64) -> Bool {
        if let completedAt { return completedAt > due }
        return now > due
    }
}

/// Figures the reports compute.
package enum ReportFigures {
    /// `part` per mille of `whole` (0 when there is no whole), rounded half up.
    package static func permille(_ part: Int, of whole: Int) -> UInt32 {
        guard whole > 0 else { return 0 }
        return UInt32((part * 1000 * 2 + whole) / (whole * 2))
    }
}
