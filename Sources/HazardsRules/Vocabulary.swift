/// The joint-control vocabulary, with the contract's numbers (proto/hazards.proto), so that the
/// service maps between these and the generated enums by raw value.
package enum HazardKind: Int32, Sendable, CaseIterable, Codable {
    case traffic = 1, fire, productionSafety, construction, publicOrder, natural, other

    /// As the compose file and the CLI write it.
    package var name: String {
        switch self {
        case .traffic: "traffic"
        case .fire: "fire"
        case .productionSafety: "production_safety"
        case .construction: "construction"
        case .publicOrder: "public_order"
        case .natural: "natural"
        case .other: "other"
        }
    }

    package init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }
}

/// Most severe first.
package enum HazardGrade: Int32, Sendable, CaseIterable, Codable, Comparable {
    case major = 1, serious, general, minor

    package var name: String {
        switch self {
        case .major: "major"
        case .serious: "serious"
        case .general: "general"
        case .minor: "minor"
        }
    }

    package init?(name: String) {
        guard let grade = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = grade
    }

    /// More severe compares smaller.
    package static func < (lhs: HazardGrade, rhs: HazardGrade) -> Bool { lhs.rawValue < rhs.rawValue }
}

package enum HazardState: Int32, Sendable, CaseIterable, Codable {
    case reported = 1, acknowledged, assigned, handled, closed, reopened

    package var name: String {
        switch self {
        case .reported: "reported"
        case .acknowledged: "acknowledged"
        case .assigned: "assigned"
        case .handled: "handled"
        case .closed: "closed"
        case .reopened: "reopened"
        }
    }
}

/// 分类受理's five categories.
package enum DisputeCategory: Int32, Sendable, CaseIterable, Codable {
    case landRequisition = 1, labourWages, publicOrder, safety, other
}

/// 分级评估's five levels, most severe first: 特大, 重大, 较大, 一般, 简单.
package enum DisputeGrade: Int32, Sendable, CaseIterable, Codable, Comparable {
    case extremelyMajor = 1, major, relativelyMajor, general, simple

    package var chinese: String {
        switch self {
        case .extremelyMajor: "特大"
        case .major: "重大"
        case .relativelyMajor: "较大"
        case .general: "一般"
        case .simple: "简单"
        }
    }

    /// One level more severe (特大 stays 特大).
    package var raised: DisputeGrade { DisputeGrade(rawValue: max(1, rawValue - 1))! }

    /// More severe compares smaller.
    package static func < (lhs: DisputeGrade, rhs: DisputeGrade) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// 分流化解's four channels.
package enum MediationChannel: Int32, Sendable, CaseIterable, Codable {
    case policeAdministrative = 1, peoples, professional, judicial
}

package enum DisputeState: Int32, Sendable, CaseIterable, Codable {
    case accepted = 1, assessed, routed, inMediation, resolved, unresolved, closed, referredUpward

    package var name: String {
        switch self {
        case .accepted: "accepted"
        case .assessed: "assessed"
        case .routed: "routed"
        case .inMediation: "in_mediation"
        case .resolved: "resolved"
        case .unresolved: "unresolved"
        case .closed: "closed"
        case .referredUpward: "referred_upward"
        }
    }
}

package enum DisputeOutcome: Int32, Sendable, CaseIterable, Codable {
    case resolved = 1, notResolved, referredUpward
}

/// A rule broken by a requested change, for the service to answer with the right status.
package struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// INVALID_ARGUMENT, naming the field.
        case invalid
        /// FAILED_PRECONDITION: not in this state.
        case precondition
        /// PERMISSION_DENIED: the caller lacks the role.
        case permission
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
