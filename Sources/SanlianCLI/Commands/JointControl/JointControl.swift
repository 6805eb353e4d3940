import ArgumentParser
import Foundation
import HazardsContract
import SanlianClock
import SanlianCompose
import SanlianRPC
import SanlianWire

/// The joint-control service's clients over one command's broker session.
struct JointControlSession {
    let session: BrokerSession
    var hazards: HazardsV1.HazardsClient { HazardsV1.HazardsClient(session.client, options: session.options) }
    var disputes: HazardsV1.DisputesClient { HazardsV1.DisputesClient(session.client, options: session.options) }

    static func run<T: Sendable>(
        _ connection: ConnectionOptions,
        _ body: @Sendable (JointControlSession) async throws -> T
    ) async throws -> T {
        try await BrokerSession.run(connection) { session in try await body(JointControlSession(session: session)) }
    }

    /// The township's clock face, from the compose file's hazards section.
    static func time(_ settings: ConnectionOptions.Resolved) -> TownshipTime {
        LocalTime.time(settings, section: "hazards")
    }

    var time: TownshipTime { Self.time(session.settings) }
}

extension HazardsV1.HazardKind: ShortNamedArgument {}
extension HazardsV1.HazardGrade: ShortNamedArgument {}
extension HazardsV1.HazardState: ShortNamedArgument {}
extension HazardsV1.DisputeCategory: ShortNamedArgument {}
extension HazardsV1.DisputeGrade: ShortNamedArgument {}
extension HazardsV1.MediationChannel: ShortNamedArgument {}
extension HazardsV1.DisputeState: ShortNamedArgument {}
extension HazardsV1.Outcome: ShortNamedArgument {}

/// Chinese and English names of the joint-control vocabulary.
enum JointControlLabels {
    static func kind(_ kind: HazardsV1.HazardKind) -> String {
        switch kind {
        case .traffic: Labels.text("交通", "traffic")
        case .fire: Labels.text("消防", "fire")
        case .productionSafety: Labels.text("安全生产", "production safety")
        case .construction: Labels.text("建设施工", "construction")
        case .publicOrder: Labels.text("治安", "public order")
        case .natural: Labels.text("自然灾害", "natural")
        default: Labels.text("其他", "other")
        }
    }

    static func grade(_ grade: HazardsV1.HazardGrade) -> String {
        switch grade {
        case .major: Labels.text("重大", "major")
        case .serious: Labels.text("较大", "serious")
        case .general: Labels.text("一般", "general")
        case .minor: Labels.text("轻微", "minor")
        default: "-"
        }
    }

    static func state(_ state: HazardsV1.HazardState) -> String {
        switch state {
        case .reported: Labels.text("已报告", "reported")
        case .acknowledged: Labels.text("已确认", "acknowledged")
        case .assigned: Labels.text("已指派", "assigned")
        case .handled: Labels.text("已处置", "handled")
        case .closed: Labels.text("已销号", "closed")
        case .reopened: Labels.text("已复发", "reopened")
        default: "-"
        }
    }

    static func category(_ category: HazardsV1.DisputeCategory) -> String {
        switch category {
        case .landRequisition: Labels.text("征地拆迁", "land requisition")
        case .labourWages: Labels.text("劳资纠纷", "labour and wages")
        case .publicOrder: Labels.text("治安纠纷", "public order")
        case .safety: Labels.text("安全", "safety")
        case .other: Labels.text("其他", "other")
        default: "-"
        }
    }

    static func grade(_ grade: HazardsV1.DisputeGrade) -> String {
        switch grade {
        case .extremelyMajor: Labels.text("特大", "extremely major")
        case .major: Labels.text("重大", "major")
        case .relativelyMajor: Labels.text("较大", "relatively major")
        case .general: Labels.text("一般", "general")
        case .simple: Labels.text("简单", "simple")
        default: Labels.text("未评估", "not assessed")
        }
    }

    static func channel(_ channel: HazardsV1.MediationChannel) -> String {
        switch channel {
        case .policeAdministrative: Labels.text("公安行政调解", "police administrative")
        case .peoples: Labels.text("人民调解", "people's mediation")
        case .professional: Labels.text("专业调解", "professional")
        case .judicial: Labels.text("司法调解", "judicial")
        default: Labels.text("未分流", "not routed")
        }
    }

    static func state(_ state: HazardsV1.DisputeState) -> String {
        switch state {
        case .accepted: Labels.text("已受理", "accepted")
        case .assessed: Labels.text("已评估", "assessed")
        case .routed: Labels.text("已分流", "routed")
        case .inMediation: Labels.text("调解中", "in mediation")
        case .resolved: Labels.text("已化解", "resolved")
        case .unresolved: Labels.text("未化解", "unresolved")
        case .closed: Labels.text("已结案", "closed")
        case .referredUpward: Labels.text("已上交", "referred upward")
        default: "-"
        }
    }

    /// A place as one line: village, group and description.
    static func place(_ place: CommonV1.Place?) -> String {
        guard let place else { return "" }
        return [place.villageCode, place.villageGroup, place.description].filter { !$0.isEmpty }.joined(separator: " ")
    }

}
