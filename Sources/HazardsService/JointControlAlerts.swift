import HazardsContract
import HazardsRules
import SanlianWire

/// The alerts the joint-control service raises (subjects under `alert.hazards.`), each with an
/// identifier stable for the change that raised it, so that the ledger takes a repeat once. A
/// hazard's alerts share its fingerprint: the command room sees one aggregate, updated when a step
/// is overdue, resolved by the Cancel its closing sends.
enum JointControlAlerts {
    static func severity(_ grade: HazardsV1.HazardGrade) -> AlertV1.Severity {
        switch grade {
        case .major: .extreme
        case .serious: .severe
        case .general: .moderate
        default: .minor
        }
    }

    static func category(_ kind: HazardsV1.HazardKind) -> AlertV1.Category {
        switch kind {
        case .traffic: .traffic
        case .fire: .fire
        case .productionSafety: .productionSafety
        case .construction: .construction
        case .publicOrder: .publicOrder
        case .natural: .natural
        default: .other
        }
    }

    static func reported(_ hazard: HazardsV1.Hazard, now: Int64) -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: hazard.alertIdentifier,
            sentUnixMs: now,
            status: hazard.drill ? .exercise : .actual,
            msgType: .alert,
            subject: "alert.hazards.\(hazard.kind.shortName)",
            category: category(hazard.kind),
            event: "hazard reported",
            urgency: hazard.grade == .major ? .immediate : .expected,
            severity: severity(hazard.grade),
            certainty: .observed,
            area: hazard.place,
            headline: "隐患（\(hazard.id)，\(hazard.responsibleDepartment)负责）：" + String(hazard.description.prefix(80)),
            description: hazard.description,
            instruction: "\(hazard.responsibleDepartment) 接报后确认、派人处置；\(hazard.gradeReason)",
            fingerprint: "hazard:\(hazard.id)"
        )
    }

    /// Step `step` of a hazard is past its due time: the aggregate updated, one level more severe.
    static func overdue(_ hazard: HazardsV1.Hazard, step: Int, now: Int64) -> AlertV1.Alert {
        let raised: AlertV1.Severity =
            switch severity(hazard.grade) {
            case .minor: .moderate
            case .moderate: .severe
            default: .extreme
            }
        return AlertV1.Alert(
            identifier: "hazard-overdue-\(hazard.id)-\(step)",
            sentUnixMs: now,
            status: hazard.drill ? .exercise : .actual,
            msgType: .update,
            subject: "alert.hazards.\(hazard.kind.shortName)",
            category: category(hazard.kind),
            event: "hazard step overdue",
            urgency: .immediate,
            severity: raised,
            certainty: .observed,
            area: hazard.place,
            headline: "隐患逾期（\(hazard.id)，\(hazard.state.shortName)，\(hazard.responsibleDepartment)）："
                + String(hazard.description.prefix(60)),
            description: hazard.description,
            references: [hazard.alertIdentifier],
            fingerprint: "hazard:\(hazard.id)"
        )
    }

    static func closed(_ hazard: HazardsV1.Hazard, reopenings: UInt32, now: Int64) -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: "hazard-closed-\(hazard.id)-\(reopenings)",
            sentUnixMs: now,
            status: hazard.drill ? .exercise : .actual,
            msgType: .cancel,
            subject: "alert.hazards.\(hazard.kind.shortName)",
            category: category(hazard.kind),
            event: "hazard closed",
            severity: .minor,
            area: hazard.place,
            headline: "隐患已销号（\(hazard.id)）：" + String(hazard.evidence.prefix(60)),
            references: [hazard.alertIdentifier],
            fingerprint: "hazard:\(hazard.id)"
        )
    }

    static func reopened(_ hazard: HazardsV1.Hazard, now: Int64) -> AlertV1.Alert {
        var alert = reported(hazard, now: now)
        alert.identifier = "hazard-reopened-\(hazard.id)-\(hazard.reopened)"
        alert.event = "hazard reopened"
        alert.headline = "隐患复发（\(hazard.id)）：" + String(hazard.description.prefix(80))
        return alert
    }

    /// A dispute to watch: graded at or above the township's alert grade, or a recurrence.
    static func dispute(_ dispute: HazardsV1.Dispute, why: String, now: Int64) -> AlertV1.Alert {
        let severity: AlertV1.Severity =
            switch dispute.grade {
            case .extremelyMajor: .extreme
            case .major: .severe
            case .relativelyMajor: .moderate
            default: .minor
            }
        return AlertV1.Alert(
            identifier: "dispute-\(why)-\(dispute.id)",
            sentUnixMs: now,
            status: dispute.drill ? .exercise : .actual,
            msgType: .alert,
            subject: "alert.hazards.dispute",
            category: .dispute,
            event: why == "recurrence" ? "dispute recurs" : "dispute graded",
            urgency: .expected,
            severity: severity,
            certainty: .observed,
            area: dispute.place,
            headline: (why == "recurrence" ? "纠纷复发（\(dispute.id)，前案 \(dispute.recurrenceOf)）：" : "纠纷（\(dispute.id)）：")
                + String(dispute.complaint.prefix(80)),
            description: dispute.gradeReason,
            fingerprint: "dispute:\(dispute.id)"
        )
    }
}
