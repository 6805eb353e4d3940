import SanlianWire
import StationContract

/// The alerts the command room's own service raises (subjects under `alert.station.`), each with
/// an identifier stable for the change that raised it. A task's alerts share its fingerprint:
/// one aggregate in the command room, resolved when the task is completed.
enum StationAlerts {
    static func fingerprint(_ task: StationV1.Task) -> String { "task:\(task.id)" }

    static func teamName(_ team: StationV1.Team) -> String {
        switch team {
        case .ruralTraffic: "农村交管队"
        case .ruralPolicing: "农村警务队"
        case .patrol: "联防队"
        default: ""
        }
    }

    static func assigneeName(_ task: StationV1.Task) -> String {
        task.team == .unspecified ? task.department : teamName(task.team)
    }

    /// A task dispatched: a notice for its assignee (minor; nothing to acknowledge in the room).
    static func dispatched(_ task: StationV1.Task, assignee: String, now: Int64) -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: "task-dispatched-\(task.id)",
            sentUnixMs: now,
            status: task.drill ? .exercise : .actual,
            msgType: .alert,
            subject: "alert.station.task.\(assignee)",
            category: .other,
            event: "task dispatched",
            urgency: .expected,
            severity: .minor,
            certainty: .observed,
            headline: "勤务任务（\(task.id)，派\(assigneeName(task))）：" + String(task.title.prefix(80)),
            instruction: "\(assigneeName(task)) 确认接收、报告进展、完成后回报。",
            fingerprint: fingerprint(task)
        )
    }

    /// Past its due time and not completed: the aggregate made severe.
    static func overdue(_ task: StationV1.Task, assignee: String, now: Int64) -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: "task-overdue-\(task.id)",
            sentUnixMs: now,
            status: task.drill ? .exercise : .actual,
            msgType: .update,
            subject: "alert.station.task.\(assignee)",
            category: .other,
            event: "task overdue",
            urgency: .immediate,
            severity: .severe,
            certainty: .observed,
            headline: "勤务任务逾期（\(task.id)，\(assigneeName(task))，\(task.state.shortName)）："
                + String(task.title.prefix(60)),
            references: ["task-dispatched-\(task.id)"],
            fingerprint: fingerprint(task)
        )
    }

    static func completed(_ task: StationV1.Task, assignee: String, now: Int64) -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: "task-completed-\(task.id)",
            sentUnixMs: now,
            status: task.drill ? .exercise : .actual,
            msgType: .cancel,
            subject: "alert.station.task.\(assignee)",
            category: .other,
            event: "task completed",
            urgency: .past,
            severity: .minor,
            certainty: .observed,
            headline: "勤务任务完成（\(task.id)）：" + String(task.title.prefix(60)),
            references: ["task-dispatched-\(task.id)"],
            fingerprint: fingerprint(task)
        )
    }
}
