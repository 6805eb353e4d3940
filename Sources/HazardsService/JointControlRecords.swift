import Foundation
import GRDB
import HazardsContract
import HazardsRules
import IdentityNumbers
import SanlianClock
import SanlianRPC
import SanlianWire
import ServiceFrame

/// Reading and writing the service's records, and mapping between the rules' vocabulary and the
/// contract's (the same numbers).
enum JointControlRecords: ServiceRecords {
    static func hazard(_ id: String, _ db: Database) throws -> HazardsV1.Hazard? {
        try Row.fetchOne(db, sql: "SELECT body FROM hazards WHERE id = ?", arguments: [id]).map {
            try decode(HazardsV1.Hazard.self, $0)
        }
    }

    static func dispute(_ id: String, _ db: Database) throws -> HazardsV1.Dispute? {
        try Row.fetchOne(db, sql: "SELECT body FROM disputes WHERE id = ?", arguments: [id]).map {
            try decode(HazardsV1.Dispute.self, $0)
        }
    }

    /// Stores `hazard`, its columns from its body.
    static func save(_ hazard: HazardsV1.Hazard, reporterKey: String?, step: Int, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO hazards (id, reporter_key, kind, grade, state, department, village, reported_ms, closed_ms,
                    due_ms, step, drill, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET grade = excluded.grade, state = excluded.state,
                    department = excluded.department, closed_ms = excluded.closed_ms, due_ms = excluded.due_ms,
                    step = excluded.step, body = excluded.body
                """,
            arguments: [
                hazard.id, reporterKey, hazard.kind.rawValue, hazard.grade.rawValue, hazard.state.rawValue,
                hazard.responsibleDepartment, hazard.place?.villageCode ?? "", hazard.reportedUnixMs,
                hazard.closedUnixMs == 0 ? nil : hazard.closedUnixMs, hazard.dueUnixMs == 0 ? nil : hazard.dueUnixMs,
                step, hazard.drill, try body(hazard),
            ]
        )
    }

    /// Stores `dispute`, its columns, parties and follow-ups from its body.
    static func save(_ dispute: HazardsV1.Dispute, _ db: Database) throws {
        func time(_ state: HazardsV1.DisputeState) -> Int64? {
            dispute.history.last { $0.to == state }?.atUnixMs
        }
        try db.execute(
            sql: """
                INSERT INTO disputes (id, accepted_ms, state, category, grade, channel, village, village_group, place,
                    recurrence_of, resolved_ms, referred_ms, closed_ms, drill, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, grade = excluded.grade, channel = excluded.channel,
                    resolved_ms = excluded.resolved_ms, referred_ms = excluded.referred_ms,
                    closed_ms = excluded.closed_ms, body = excluded.body
                """,
            arguments: [
                dispute.id, dispute.acceptedUnixMs, dispute.state.rawValue, dispute.category.rawValue,
                dispute.grade == .unspecified ? nil : dispute.grade.rawValue,
                dispute.channel == .unspecified ? nil : dispute.channel.rawValue, dispute.place?.villageCode ?? "",
                dispute.place?.villageGroup ?? "", dispute.place?.description ?? "",
                dispute.recurrenceOf.isEmpty ? nil : dispute.recurrenceOf,
                dispute.resolvedUnixMs == 0 ? nil : dispute.resolvedUnixMs, time(.referredUpward),
                dispute.closedUnixMs == 0 ? nil : dispute.closedUnixMs, dispute.drill, try body(dispute),
            ]
        )
        for followUp in dispute.followUps {
            try db.execute(
                sql: """
                    INSERT INTO follow_ups (id, dispute_id, due_ms, done_ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET due_ms = excluded.due_ms, done_ms = excluded.done_ms
                    """,
                arguments: [
                    followUp.id, dispute.id, followUp.dueUnixMs, followUp.doneUnixMs == 0 ? nil : followUp.doneUnixMs,
                ]
            )
        }
    }

    /// `dispute` as `caller` may see it: ID numbers and phones masked without the personal-data grant.
    static func shown(_ dispute: HazardsV1.Dispute, to caller: Caller) -> HazardsV1.Dispute {
        guard !caller.holds(grant: "personal_data") else { return dispute }
        var masked = dispute
        masked.parties = dispute.parties.map { party in
            var party = party
            party.residentIDNumber = party.residentIDNumber.isEmpty ? "" : IdentityNumber.masked(party.residentIDNumber)
            party.phone =
                party.phone.count == 11
                ? String(party.phone.prefix(3)) + "****" + String(party.phone.suffix(4)) : party.phone
            return party
        }
        masked.masked = true
        return masked
    }
}

/// The contract's enums as the rules' (the same numbers), refusing what the rules have no word for.
enum Vocabulary {
    static func kind(_ kind: HazardsV1.HazardKind, field: String = "kind") throws(RPCError) -> HazardKind {
        guard let known = HazardKind(rawValue: kind.rawValue) else {
            throw RPCError(
                .invalidArgument,
                "\(field): must be one of traffic, fire, production_safety, construction, public_order, natural, other"
            )
        }
        return known
    }

    static func grade(_ grade: HazardsV1.HazardGrade) -> HazardGrade? { HazardGrade(rawValue: grade.rawValue) }
    static func state(_ state: HazardsV1.HazardState) -> HazardState? { HazardState(rawValue: state.rawValue) }

    static func category(_ category: HazardsV1.DisputeCategory) throws(RPCError) -> DisputeCategory {
        guard let known = DisputeCategory(rawValue: category.rawValue) else {
            throw RPCError(
                .invalidArgument,
                "category: must be one of land_requisition, labour_wages, public_order, safety, other"
            )
        }
        return known
    }

    static func disputeGrade(_ grade: HazardsV1.DisputeGrade) throws(RPCError) -> DisputeGrade {
        guard let known = DisputeGrade(rawValue: grade.rawValue) else {
            throw RPCError(
                .invalidArgument,
                "grade: must be one of extremely_major, major, relatively_major, general, simple"
            )
        }
        return known
    }

    static func channel(_ channel: HazardsV1.MediationChannel) throws(RPCError) -> MediationChannel {
        guard let known = MediationChannel(rawValue: channel.rawValue) else {
            throw RPCError(
                .invalidArgument,
                "channel: must be one of police_administrative, peoples, professional, judicial"
            )
        }
        return known
    }

    static func disputeState(_ state: HazardsV1.DisputeState) -> DisputeState {
        DisputeState(rawValue: state.rawValue)!
    }

    static func rpc(_ error: RuleError) -> RPCError {
        switch error.kind {
        case .invalid: RPCError(.invalidArgument, error.message)
        case .precondition: RPCError(.failedPrecondition, error.message)
        case .permission: RPCError(.permissionDenied, error.message)
        }
    }
}

/// Checks the joint-control contract's messages share.
enum JointControlChecks: ServiceRecords {
    static func place(_ place: CommonV1.Place?, _ field: String) throws(RPCError) {
        try villageCode(place?.villageCode ?? "", "\(field).village_code", required: true)
        guard let place else { return }
        try text(place.villageGroup, "\(field).village_group", limit: 64, required: false)
        try text(place.description, "\(field).description", limit: 200, required: false)
        guard abs(Int(place.latitudeMicro)) <= 90_000_000, abs(Int(place.longitudeMicro)) <= 180_000_000 else {
            throw RPCError(.invalidArgument, "\(field): latitude or longitude out of range")
        }
    }

    static func identifier(_ value: String, _ field: String) throws(RPCError) {
        guard !value.isEmpty, value.utf8.count <= 64 else {
            throw RPCError(.invalidArgument, "\(field): must be given")
        }
    }

}
