import HazardsRules
import SanlianClock
import SanlianCompose

/// The compose file's `hazards:` and `disputes:` sections (compose/township.yaml shows every key
/// with its default).
struct HazardsSettings: Sendable {
    var time = TownshipTime()
    var hazards = HazardPolicy.standard
    var disputes = DisputePolicy.standard

    struct HazardsSection: Decodable {
        var utc_offset: String?
        var routing: [String: String]?
        var grading: Grading?
        var steps: [String: Steps]?

        struct Grading: Decodable {
            var `default`: String?
            var rules: [Rule]?
        }

        struct Rule: Decodable {
            var kind: String?
            var words: [String]?
            var grade: String
        }

        struct Steps: Decodable {
            var acknowledge: String?
            var handle: String?
            var close: String?
        }
    }

    struct DisputesSection: Decodable {
        var recurrence_days: Int?
        var alert_grade: String?
    }

    /// - Throws: `ComposeError` naming the key at fault.
    init(hazards section: HazardsSection?, disputes: DisputesSection?, departments: Set<String>) throws(ComposeError) {
        if let section {
            if let offset = section.utc_offset {
                guard let time = TownshipTime(offset: offset) else {
                    throw ComposeError("hazards.utc_offset: \"\(offset)\" is not an offset like +08:00")
                }
                self.time = time
            }
            for (kindName, department) in section.routing ?? [:] {
                guard let kind = HazardKind(name: kindName) else {
                    throw ComposeError(
                        "hazards.routing.\(kindName): not a kind of hazard (\(HazardKind.allCases.map(\.name).joined(separator: ", ")))"
                    )
                }
                guard departments.contains(department) else {
                    throw ComposeError(
                        "hazards.routing.\(kindName): \(department) is not a department of this township"
                    )
                }
                hazards.routing[kind] = department
            }
            if let grading = section.grading {
                if let name = grading.default {
                    guard let grade = HazardGrade(name: name) else {
                        throw Self.badGrade("hazards.grading.default", name)
                    }
                    hazards.defaultGrade = grade
                }
                hazards.gradingRules = try (grading.rules ?? []).enumerated().map { index, rule throws(ComposeError) in
                    let key = "hazards.grading.rules[\(index)]"
                    var kind: HazardKind?
                    if let name = rule.kind {
                        guard let known = HazardKind(name: name) else {
                            throw ComposeError("\(key).kind: \"\(name)\" is not a kind of hazard")
                        }
                        kind = known
                    }
                    guard let grade = HazardGrade(name: rule.grade) else {
                        throw Self.badGrade("\(key).grade", rule.grade)
                    }
                    return HazardPolicy.GradingRule(kind: kind, words: rule.words ?? [], grade: grade)
                }
            }
            for (gradeName, steps) in section.steps ?? [:] {
                guard let grade = HazardGrade(name: gradeName) else { throw Self.badGrade("hazards.steps", gradeName) }
                let standard = HazardPolicy.standard.stepTimes[grade]!
                let key = "hazards.steps.\(gradeName)"
                func milliseconds(_ text: String?, _ fallback: Int64, _ step: String) throws(ComposeError) -> Int64 {
                    Int64(try ComposeFile.duration(text, default: Int(fallback / 1000), key: "\(key).\(step)")) * 1000
                }
                hazards.stepTimes[grade] = HazardPolicy.StepTimes(
                    acknowledge: try milliseconds(steps.acknowledge, standard.acknowledge, "acknowledge"),
                    handle: try milliseconds(steps.handle, standard.handle, "handle"),
                    close: try milliseconds(steps.close, standard.close, "close")
                )
            }
        }
        if let disputes {
            if let days = disputes.recurrence_days {
                guard (1...3650).contains(days) else {
                    throw ComposeError("disputes.recurrence_days: 1–3650, got \(days)")
                }
                self.disputes.recurrenceMilliseconds = Int64(days) * 86_400_000
            }
            if let name = disputes.alert_grade {
                let grades: [String: DisputeGrade] = [
                    "extremely_major": .extremelyMajor, "major": .major, "relatively_major": .relativelyMajor,
                    "general": .general, "simple": .simple,
                ]
                guard let grade = grades[name] else {
                    throw ComposeError(
                        "disputes.alert_grade: \"\(name)\" is not one of \(grades.keys.sorted().joined(separator: ", "))"
                    )
                }
                self.disputes.alertGrade = grade
            }
        }
    }

    static func badGrade(_ key: String, _ name: String) -> ComposeError {
        ComposeError("\(key): \"\(name)\" is not a grade (\(HazardGrade.allCases.map(\.name).joined(separator: ", ")))")
    }
}
