/// The compose file's `hazards:` section as the rules use it: who is responsible for each kind,
/// how a report is graded, and how long each step may take by grade.
package struct HazardPolicy: Sendable, Equatable {
    /// A grading rule: a report of `kind` (nil: any) whose description holds one of `words`
    /// (none: any) is graded `grade`. The first that matches wins.
    package struct GradingRule: Sendable, Equatable {
        package var kind: HazardKind?
        package var words: [String]
        package var grade: HazardGrade

        package init(kind: HazardKind?, words: [String], grade: HazardGrade) {
            self.kind = kind
            self.words = words
            self.grade = grade
        }
    }

    /// How long each step may take, in milliseconds: to be acknowledged (and then assigned), to
    /// be handled once assigned, to be closed once handled.
    package struct StepTimes: Sendable, Equatable {
        package var acknowledge: Int64
        package var handle: Int64
        package var close: Int64

        package init(acknowledge: Int64, handle: Int64, close: Int64) {
            self.acknowledge = acknowledge
            self.handle = handle
            self.close = close
        }
    }

    package var routing: [HazardKind: String]
    package var fallbackDepartment: String
    package var gradingRules: [GradingRule]
    package var defaultGrade: HazardGrade
    package var stepTimes: [HazardGrade: StepTimes]

    package init(
        routing: [HazardKind: String],
        fallbackDepartment: String,
        gradingRules: [GradingRule],
        defaultGrade: HazardGrade,
        stepTimes: [HazardGrade: StepTimes]
    ) {
        self.routing = routing
        self.fallbackDepartment = fallbackDepartment
        self.gradingRules = gradingRules
        self.defaultGrade = defaultGrade
        self.stepTimes = stepTimes
    }

    /// The township's defaults, as compose/township.yaml writes them out.
    package static let standard = HazardPolicy(
        routing: [
            .traffic: "traffic", .fire: "safety", .productionSafety: "safety", .construction: "safety",
            .publicOrder: "station", .natural: "governance", .other: "governance",
        ],
        fallbackDepartment: "governance",
        gradingRules: [],
        defaultGrade: .general,
        stepTimes: [
            .major: StepTimes(acknowledge: 30 * 60_000, handle: 24 * 3_600_000, close: 24 * 3_600_000),
            .serious: StepTimes(acknowledge: 2 * 3_600_000, handle: 72 * 3_600_000, close: 48 * 3_600_000),
            .general: StepTimes(acknowledge: 24 * 3_600_000, handle: 7 * 24 * 3_600_000, close: 72 * 3_600_000),
            .minor: StepTimes(acknowledge: 72 * 3_600_000, handle: 30 * 24 * 3_600_000, close: 7 * 24 * 3_600_000),
        ]
    )
}

/// The hazard rules: grading, routing, the lifecycle and its due times.
package enum HazardRules {
    /// The grade of a report, and why: the reporter's own when given, else the first grading rule
    /// that matches, else the default.
    package static func grade(
        kind: HazardKind,
        description: String,
        suggested: HazardGrade?,
        policy: HazardPolicy
    ) -> (grade: HazardGrade, reason: String) {
        if let suggested { return (suggested, "graded \(suggested.name) by the reporter") }
        for (index, rule) in policy.gradingRules.enumerated() where rule.kind == nil || rule.kind == kind {
            if rule.words.isEmpty {
                return (
                    rule.grade, "grading rule \(index + 1): every \(rule.kind?.name ?? "") report is \(rule.grade.name)"
                )
            }
            if let word = rule.words.first(where: { description.contains($0) }) {
                return (rule.grade, "grading rule \(index + 1): \"\(word)\" in the description")
            }
        }
        return (policy.defaultGrade, "no grading rule matched: the default, \(policy.defaultGrade.name)")
    }

    /// The department responsible for a hazard of `kind`, and why.
    package static func route(_ kind: HazardKind, policy: HazardPolicy) -> (department: String, reason: String) {
        if let department = policy.routing[kind] { return (department, "routing rule: \(kind.name) → \(department)") }
        return (policy.fallbackDepartment, "no routing rule for \(kind.name): \(policy.fallbackDepartment)")
    }

    /// The states a hazard in `state` may move to.
    package static func next(from state: HazardState) -> [HazardState] {
        switch state {
        case .reported, .reopened: [.acknowledged]
        case .acknowledged: [.assigned]
        case .assigned: [.handled]
        case .handled: [.closed]
        case .closed: [.reopened]
        }
    }

    /// Refuses `from → to` unless the lifecycle allows it, naming both states.
    package static func checkTransition(from: HazardState, to: HazardState) throws(RuleError) {
        guard next(from: from).contains(to) else {
            let allowed = next(from: from).map(\.name).joined(separator: " or ")
            throw RuleError(.precondition, "a hazard that is \(from.name) cannot become \(to.name) (only \(allowed))")
        }
    }

    /// When the step a hazard enters at `now` (in `state`) is due; nil when closed.
    package static func due(entering state: HazardState, at now: Int64, grade: HazardGrade, policy: HazardPolicy)
        -> Int64?
    {
        let times = policy.stepTimes[grade] ?? HazardPolicy.standard.stepTimes[grade]!
        switch state {
        case .reported, .reopened, .acknowledged: return now + times.acknowledge
        case .assigned: return now + times.handle
        case .handled: return now + times.close
        case .closed: return nil
        }
    }
}
