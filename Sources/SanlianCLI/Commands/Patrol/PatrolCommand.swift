import ArgumentParser
import Foundation
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianCompose
import SanlianRPC
import SanlianWire

/// `sanlian patrol …`: the volunteer patrol service (联防).
struct PatrolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patrol",
        abstract: "The volunteer patrols (联防): volunteers, rosters, check-ins, findings, publicity, hours.",
        discussion: """
            Served by sanlian-patrol through the broker. Days are local dates (2026-12-07) in the \
            township's time (the compose file's patrol.utc_offset, default +08:00); times are \
            "2026-12-07 08:30".
            """,
        subcommands: [
            VolunteerCommand.self, TeamCommand.self, AreaCommand.self, ShiftCommand.self, AvailabilityCommand.self,
            RosterCommand.self, AssignmentCommand.self, SwapCommand.self, CheckInCommand.self, CheckOutCommand.self,
            CheckInsCommand.self, FindingCommand.self, PublicityCommand.self, HoursCommand.self,
        ]
    )
}

/// The patrol service's clients over one command's broker session.
struct PatrolSession {
    let session: BrokerSession
    var roster: PatrolV1.RosterClient { PatrolV1.RosterClient(session.client, options: session.options) }
    var patrols: PatrolV1.PatrolsClient { PatrolV1.PatrolsClient(session.client, options: session.options) }
    var publicity: PatrolV1.PublicityClient { PatrolV1.PublicityClient(session.client, options: session.options) }

    /// The township's clock face, from the compose file's patrol section.
    var time: TownshipTime { Self.time(session.settings) }

    static func time(_ settings: ConnectionOptions.Resolved) -> TownshipTime {
        LocalTime.time(settings, section: "patrol")
    }

    /// Connects as `connection` says and runs `body` with the patrol service's clients.
    static func run<T: Sendable>(
        _ connection: ConnectionOptions,
        _ body: @Sendable (PatrolSession) async throws -> T
    ) async throws -> T {
        try await BrokerSession.run(connection) { session in try await body(PatrolSession(session: session)) }
    }

    /// Every item of a paged list, page after page.
    static func all<Item>(
        _ fetch: (_ page: CommonV1.PageRequest) async throws -> (items: [Item], page: CommonV1.PageResponse?)
    ) async throws -> [Item] {
        try await Paging.all(fetch)
    }
}

/// Parsing the patrol commands' dates and times.
enum PatrolArguments {
    static func day(_ text: String, option: String) throws -> LocalDay {
        guard let day = LocalDay(text) else {
            throw ValidationError("\(option): \"\(text)\" is not a date like 2026-12-07")
        }
        return day
    }

    static func minute(_ text: String, option: String) throws -> UInt32 { try LocalTime.minute(text, option: option) }

    static func moment(_ text: String, option: String, time: TownshipTime) throws -> Int64 {
        try LocalTime.parse(text, option: option, time: time)
    }

    /// "2026-12-07..2026-12-09" (whole days, the last included) or
    /// "2026-12-07 08:00..2026-12-07 18:00" → [from, to) in Unix ms.
    static func span(_ text: String, option: String, time: TownshipTime) throws -> CommonV1.TimeRange {
        let ends = text.components(separatedBy: "..")
        guard ends.count == 2 else {
            throw ValidationError("\(option): \"\(text)\" is not a span like 2026-12-07..2026-12-09")
        }
        func point(_ text: String, end: Bool) throws -> Int64 {
            if let day = LocalDay(text) { return time.unixMilliseconds(end ? day.adding(days: 1) : day, minute: 0) }
            return try moment(text, option: option, time: time)
        }
        let from = try point(ends[0], end: false)
        let to = try point(ends[1], end: true)
        guard to > from else { throw ValidationError("\(option): \"\(text)\" ends before it starts") }
        return CommonV1.TimeRange(fromUnixMs: from, toUnixMs: to)
    }

    static func month(_ text: String, option: String) throws -> CommonV1.Month {
        try LocalTime.month(text, option: option)
    }

    static func clock(_ unixMs: Int64, _ time: TownshipTime) -> String { LocalTime.clock(unixMs, time) }

    static func moment(_ unixMs: Int64, _ time: TownshipTime) -> String { LocalTime.format(unixMs, time) }
}

extension PatrolV1.VolunteerKind: ShortNamedArgument {}
extension PatrolV1.AreaKind: ShortNamedArgument {}
extension PatrolV1.AssignmentState: ShortNamedArgument {}
extension PatrolV1.SwapState: ShortNamedArgument {}
extension PatrolV1.FindingKind: ShortNamedArgument {}
extension PatrolV1.CheckInKind: ShortNamedArgument {}

/// Chinese and English names of the patrol contract's values.
enum PatrolLabels {
    static func kind(_ kind: PatrolV1.VolunteerKind) -> String {
        switch kind {
        case .veteran: Labels.text("退伍老兵", "veteran")
        case .activist: Labels.text("治安积极分子", "activist")
        default: Labels.text("其他", "other")
        }
    }

    static func state(_ state: PatrolV1.AssignmentState) -> String {
        switch state {
        case .assigned: Labels.text("已排", "assigned")
        case .confirmed: Labels.text("已确认", "confirmed")
        case .swapped: Labels.text("已换班", "swapped")
        case .completed: Labels.text("已完成", "completed")
        case .noShow: Labels.text("缺勤", "no-show")
        case .cancelled: Labels.text("已取消", "cancelled")
        default: state.shortName
        }
    }

    static func checkIn(_ kind: PatrolV1.CheckInKind) -> String {
        switch kind {
        case .start: Labels.text("开始", "start")
        case .checkIn: Labels.text("签到", "check-in")
        case .missed: Labels.text("未签到", "MISSED")
        case .checkOut: Labels.text("结束", "check-out")
        case .closed: Labels.text("班次结束", "closed at shift end")
        default: kind.shortName
        }
    }
}
