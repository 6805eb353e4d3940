import IdentityNumbers

/// A party of a dispute as the rules see it.
package struct DisputeParty: Sendable, Equatable {
    package var name: String
    package var idNumber: String
    package var role: String
    package var phone: String

    package init(name: String, idNumber: String = "", role: String = "", phone: String = "") {
        self.name = name
        self.idNumber = idNumber
        self.role = role
        self.phone = phone
    }
}

/// Where a dispute arose: a village, and within it a village group or a described place.
package struct DisputePlace: Sendable, Equatable {
    package var villageCode: String
    package var villageGroup: String
    package var description: String

    package init(villageCode: String, villageGroup: String = "", description: String = "") {
        self.villageCode = villageCode
        self.villageGroup = villageGroup
        self.description = description
    }
}

/// An earlier dispute, for recurrence.
package struct EarlierDispute: Sendable, Equatable {
    package var id: String
    package var acceptedMs: Int64
    package var parties: [DisputeParty]
    package var place: DisputePlace

    package init(id: String, acceptedMs: Int64, parties: [DisputeParty], place: DisputePlace) {
        self.id = id
        self.acceptedMs = acceptedMs
        self.parties = parties
        self.place = place
    }
}

/// The compose file's `disputes:` section: how far back a recurrence is looked for, and from
/// which grade a dispute raises an alert.
package struct DisputePolicy: Sendable, Equatable {
    package var recurrenceMilliseconds: Int64
    package var alertGrade: DisputeGrade

    package init(recurrenceMilliseconds: Int64, alertGrade: DisputeGrade) {
        self.recurrenceMilliseconds = recurrenceMilliseconds
        self.alertGrade = alertGrade
    }

    package static let standard = DisputePolicy(recurrenceMilliseconds: 180 * 86_400_000, alertGrade: .relativelyMajor)
}

/// The 四分 method's rules: what may follow what, recurrences and the grade they raise, who may
/// close what, what raises an alert.
package enum DisputeRules {
    /// Refuses the parties of an intake that are not well formed, naming the field.
    package static func check(parties: [DisputeParty]) throws(RuleError) {
        guard (1...20).contains(parties.count) else {
            throw RuleError(.invalid, "parties: 1 to 20 parties, not \(parties.count)")
        }
        for (index, party) in parties.enumerated() {
            let trimmed = party.name.filter { !$0.isWhitespace }
            guard !trimmed.isEmpty, party.name.count <= 64 else {
                throw RuleError(.invalid, "parties[\(index)].name: 1–64 characters")
            }
            if !party.idNumber.isEmpty {
                do {
                    _ = try IdentityNumber(party.idNumber)
                } catch {
                    throw RuleError(.invalid, "parties[\(index)].resident_id_number: \(error)")
                }
            }
            if !party.phone.isEmpty,
                !(party.phone.count == 11 && party.phone.allSatisfy { $0.isASCII && $0.isNumber })
            {
                throw RuleError(.invalid, "parties[\(index)].phone: \"\(party.phone)\" is not 11 digits")
            }
            guard party.role.count <= 32 else {
                throw RuleError(.invalid, "parties[\(index)].role: at most 32 characters")
            }
        }
    }

    /// The most recent earlier dispute within the policy's period with the same parties or the
    /// same place, and why; nil when there is none. Same parties: one with the same ID number, or
    /// the same names all round. Same place: the same village and village group, or the same
    /// village and described place.
    package static func recurrence(
        parties: [DisputeParty],
        place: DisputePlace,
        at now: Int64,
        among earlier: [EarlierDispute],
        policy: DisputePolicy
    ) -> (of: EarlierDispute, reason: String)? {
        let ids = Set(parties.map(\.idNumber).filter { !$0.isEmpty }.map { $0.uppercased() })
        let names = Set(parties.map { $0.name.filter { !$0.isWhitespace } })
        let candidates = earlier.filter { now - $0.acceptedMs <= policy.recurrenceMilliseconds && $0.acceptedMs <= now }
            .sorted { ($0.acceptedMs, $0.id) > ($1.acceptedMs, $1.id) }
        for dispute in candidates {
            let theirIDs = Set(dispute.parties.map(\.idNumber).filter { !$0.isEmpty }.map { $0.uppercased() })
            let theirNames = Set(dispute.parties.map { $0.name.filter { !$0.isWhitespace } })
            if !ids.isDisjoint(with: theirIDs) {
                return (dispute, "a party of \(dispute.id) again (the same ID number)")
            }
            if !names.isEmpty && names == theirNames {
                return (dispute, "the same parties as \(dispute.id)")
            }
            let samePlace =
                !place.villageCode.isEmpty && place.villageCode == dispute.place.villageCode
                && ((!place.villageGroup.isEmpty && place.villageGroup == dispute.place.villageGroup)
                    || (!place.description.isEmpty && place.description == dispute.place.description))
            if samePlace {
                return (dispute, "the same place as \(dispute.id)")
            }
        }
        return nil
    }

    /// The grade an assessment gives, and the reason recorded: a recurrence is raised one level.
    package static func assess(
        grade: DisputeGrade,
        reason: String,
        recurrenceOf: String?
    ) -> (grade: DisputeGrade, reason: String) {
        guard let recurrenceOf else { return (grade, reason) }
        let raised = grade.raised
        guard raised != grade else {
            return (grade, reason + "；复发（\(recurrenceOf)），已为最高级")
        }
        return (raised, reason + "；复发（\(recurrenceOf)），由\(grade.chinese)升为\(raised.chinese)")
    }

    /// Whether a dispute of `grade` raises an alert when assessed.
    package static func alerts(grade: DisputeGrade, policy: DisputePolicy) -> Bool { grade <= policy.alertGrade }

    package enum Step: Sendable, Equatable {
        case assess
        case route
        case recordSession
        case recordOutcome(DisputeOutcome)
        case scheduleFollowUp
        case recordFollowUp
        case close
    }

    /// The state a dispute in `state` moves to by `step`.
    /// - Throws: FAILED_PRECONDITION naming the state and the step when the method does not
    ///   allow it then.
    package static func apply(_ step: Step, to state: DisputeState) throws(RuleError) -> DisputeState {
        switch (step, state) {
        case (.assess, .accepted), (.assess, .assessed): return .assessed
        case (.route, .assessed), (.route, .routed): return .routed
        case (.recordSession, .routed), (.recordSession, .inMediation), (.recordSession, .unresolved):
            return .inMediation
        case (.recordOutcome(let outcome), .inMediation):
            switch outcome {
            case .resolved: return .resolved
            case .notResolved: return .unresolved
            case .referredUpward: return .referredUpward
            }
        case (.scheduleFollowUp, .unresolved), (.scheduleFollowUp, .resolved), (.scheduleFollowUp, .inMediation):
            return state
        case (.recordFollowUp, let current) where current != .closed: return current
        case (.close, .resolved), (.close, .referredUpward): return .closed
        default:
            let what: String =
                switch step {
                case .assess: "assessed (only when accepted or assessed)"
                case .route: "routed (assess it first)"
                case .recordSession: "mediated (route it first)"
                case .recordOutcome: "given an outcome (record a mediation session first)"
                case .scheduleFollowUp: "given a follow-up (only once mediated)"
                case .recordFollowUp: "followed up (it is closed)"
                case .close:
                    "closed (only once resolved or referred upward; an unresolved case is followed up until it is)"
                }
            throw RuleError(.precondition, "a dispute that is \(state.name) cannot be \(what)")
        }
    }

    /// Refuses to close a case graded 较大 or above unless the caller holds the station leader's
    /// role (read from the broker's stamps, never from a field).
    package static func checkClosing(grade: DisputeGrade?, callerRoles: Set<String>) throws(RuleError) {
        guard let grade, grade <= .relativelyMajor else { return }
        guard callerRoles.contains("station_leader") else {
            throw RuleError(
                .permission,
                "closing a dispute graded \(grade.chinese) needs a station leader's approval: the caller must hold the station_leader role"
            )
        }
    }
}
