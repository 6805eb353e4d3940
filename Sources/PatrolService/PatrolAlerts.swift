import HazardsContract
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianWire
import ServiceFrame

/// The alerts the patrol service raises (subjects under `alert.patrol.`), each with an identifier
/// stable for the change that raised it, so that the ledger takes a repeat once.
enum PatrolAlerts {
    /// The `number`th missed check-in of the patrol on `assignment`. Every miss of one patrol
    /// shares a fingerprint: the command room sees one aggregate, its severity raised by a second
    /// miss, resolved by the Cancel a later check-in sends.
    static func missed(_ assignment: PatrolV1.Assignment, number: Int, dueMs: Int64, night: Bool, now: Int64)
        -> AlertV1.Alert
    {
        let severity: AlertV1.Severity =
            switch CheckInRules.severity(ofMiss: number, night: night) {
            case .moderate: .moderate
            case .severe: .severe
            case .extreme: .extreme
            }
        return AlertV1.Alert(
            identifier: "patrol-missed-\(assignment.id)-\(number)",
            sentUnixMs: now,
            status: .actual,
            msgType: number == 1 ? .alert : .update,
            subject: "alert.patrol.checkin",
            category: .patrol,
            event: "missed check-in",
            urgency: .immediate,
            severity: severity,
            certainty: .likely,
            headline: "巡逻签到未到：志愿者 \(assignment.volunteerID)（\(assignment.shiftName)，\(assignment.areaID)）第\(number)次",
            description:
                "Volunteer \(assignment.volunteerID) on \(assignment.shiftName) in \(assignment.areaID) (\(assignment.day)) "
                + "missed check-in \(number) of the patrol, due at \(dueMs) (Unix ms).",
            instruction: "联系该志愿者及同组人员；无法联系时派员前往巡逻区域。",
            references: number == 1 ? [] : ["patrol-missed-\(assignment.id)-\(number - 1)"],
            fingerprint: "patrol-missed:\(assignment.id)"
        )
    }

    /// A check-in (or the check-out) after miss `number`: cancels the missed check-in's alert.
    static func missResolved(_ assignment: PatrolV1.Assignment, number: Int, now: Int64) -> AlertV1.Alert {
        AlertV1.Alert(
            identifier: "patrol-answered-\(assignment.id)-\(number)",
            sentUnixMs: now,
            status: .actual,
            msgType: .cancel,
            subject: "alert.patrol.checkin",
            category: .patrol,
            event: "missed check-in answered",
            severity: .minor,
            headline: "巡逻签到恢复：志愿者 \(assignment.volunteerID)（\(assignment.shiftName)，\(assignment.areaID)）",
            references: ["patrol-missed-\(assignment.id)-\(number)"],
            fingerprint: "patrol-missed:\(assignment.id)"
        )
    }

    static func finding(_ finding: PatrolV1.Finding, areaID: String, now: Int64) -> AlertV1.Alert {
        let (category, severity): (AlertV1.Category, AlertV1.Severity) =
            switch finding.kind {
            case .roadHazard: (.traffic, .moderate)
            case .fireRisk: (.fire, .moderate)
            case .suspiciousPerson: (.publicOrder, .moderate)
            case .dispute: (.dispute, .minor)
            case .brokenFacility: (.publicOrder, .minor)
            default: (.patrol, .minor)
            }
        return AlertV1.Alert(
            identifier: finding.alertIdentifier,
            sentUnixMs: now,
            status: finding.drill ? .exercise : .actual,
            msgType: .alert,
            subject: "alert.patrol.finding",
            category: category,
            event: "patrol finding: \(finding.kind.shortName)",
            urgency: .expected,
            severity: severity,
            certainty: .observed,
            area: finding.place,
            headline: "巡逻发现（\(areaID)）：" + String(finding.description.prefix(80)),
            description: finding.description,
            fingerprint: "patrol-finding:\(finding.id)"
        )
    }

    /// The hazards service's report of a finding that is a hazard.
    static func hazardReport(_ finding: PatrolV1.Finding) -> HazardsV1.ReportHazardRequest {
        let kind: HazardsV1.HazardKind =
            switch finding.kind {
            case .roadHazard: .traffic
            case .fireRisk: .fire
            case .suspiciousPerson, .dispute: .publicOrder
            case .brokenFacility: .construction
            default: .other
            }
        return HazardsV1.ReportHazardRequest(
            kind: kind,
            place: finding.place,
            description: finding.description,
            drill: finding.drill,
            identifier: "patrol-finding-\(finding.id)"
        )
    }
}
