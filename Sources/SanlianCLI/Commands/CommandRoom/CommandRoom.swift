import ArgumentParser
import Foundation
import SanlianClock
import SanlianCompose
import SanlianRPC
import SanlianWire
import StationContract

/// The command room service's clients over one command's broker session.
struct CommandRoomSession {
    let session: BrokerSession
    var tasks: StationV1.TasksClient { StationV1.TasksClient(session.client, options: session.options) }
    var incidents: StationV1.IncidentsClient { StationV1.IncidentsClient(session.client, options: session.options) }
    var reports: StationV1.ReportsClient { StationV1.ReportsClient(session.client, options: session.options) }
    var time: TownshipTime { LocalTime.time(session.settings, section: "station") }

    static func run<T: Sendable>(
        _ connection: ConnectionOptions,
        _ body: @Sendable (CommandRoomSession) async throws -> T
    ) async throws -> T {
        try await BrokerSession.run(connection) { session in try await body(CommandRoomSession(session: session)) }
    }
}

extension StationV1.Team: ShortNamedArgument {}
extension StationV1.TaskSourceKind: ShortNamedArgument {}
extension StationV1.CaseKind: ShortNamedArgument {}

/// Chinese and English names of the command room's vocabulary.
enum CommandRoomLabels {
    static func team(_ team: StationV1.Team) -> String {
        switch team {
        case .ruralTraffic: Labels.text("农村交管队", "rural traffic team")
        case .ruralPolicing: Labels.text("农村警务队", "rural policing team")
        case .patrol: Labels.text("联防队", "patrol team")
        default: "-"
        }
    }

    static func assignee(_ task: StationV1.Task) -> String {
        task.team == .unspecified ? task.department : team(task.team)
    }

    static func state(_ state: StationV1.TaskState) -> String {
        switch state {
        case .dispatched: Labels.text("已派发", "dispatched")
        case .acknowledged: Labels.text("已接收", "acknowledged")
        case .inProgress: Labels.text("处置中", "in progress")
        case .completed: Labels.text("已完成", "completed")
        default: "-"
        }
    }

    static func caseKind(_ kind: StationV1.CaseKind) -> String {
        switch kind {
        case .theft: Labels.text("盗窃", "theft")
        case .fraud: Labels.text("诈骗", "fraud")
        case .assault: Labels.text("伤害", "assault")
        case .robbery: Labels.text("抢劫抢夺", "robbery")
        case .publicOrder: Labels.text("治安", "public order")
        default: Labels.text("其他", "other")
        }
    }

    /// "+3", "-2", "0".
    static func change(_ now: UInt32, _ before: UInt32) -> String {
        let difference = Int(now) - Int(before)
        return difference > 0 ? "+\(difference)" : String(difference)
    }
}

/// Generates a request id when the person gives none: a command run twice is two requests.
func newRequestID(_ prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    return prefix + String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 16)
}
