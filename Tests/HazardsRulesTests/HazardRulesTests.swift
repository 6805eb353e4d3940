import HazardsRules
import IdentityNumbers
import Testing

@Suite("Hazard rules: grading, routing, the lifecycle and its due times")
struct HazardRulesTests {
    let policy = HazardPolicy(
        routing: [.traffic: "traffic", .fire: "safety"],
        fallbackDepartment: "governance",
        gradingRules: [
            .init(kind: .fire, words: ["燃气", "爆炸"], grade: .major),
            .init(kind: .traffic, words: ["塌方", "落石"], grade: .serious),
            .init(kind: .natural, words: [], grade: .serious),
        ],
        defaultGrade: .general,
        stepTimes: HazardPolicy.standard.stepTimes
    )

    @Test("the first matching rule grades a report; the reporter's own grade wins; else the default")
    func grading() {
        #expect(HazardRules.grade(kind: .fire, description: "饭店燃气泄漏", suggested: nil, policy: policy).grade == .major)
        #expect(
            HazardRules.grade(kind: .traffic, description: "G318 落石", suggested: nil, policy: policy).grade == .serious
        )
        #expect(
            HazardRules.grade(kind: .traffic, description: "路灯不亮", suggested: nil, policy: policy).grade == .general
        )
        #expect(HazardRules.grade(kind: .natural, description: "山洪", suggested: nil, policy: policy).grade == .serious)
        let own = HazardRules.grade(kind: .fire, description: "燃气", suggested: .minor, policy: policy)
        #expect(own.grade == .minor)
        #expect(own.reason.contains("reporter"))
        #expect(HazardRules.grade(kind: .fire, description: "燃气", suggested: nil, policy: policy).reason.contains("燃气"))
    }

    @Test("routing by kind, and a fallback department for a kind without a rule")
    func routing() {
        #expect(HazardRules.route(.fire, policy: policy).department == "safety")
        #expect(HazardRules.route(.construction, policy: policy).department == "governance")
    }

    @Test("every transition of the lifecycle: the allowed ones pass, the rest are refused naming both states")
    func transitions() throws {
        let allowed: Set<String> = [
            "reported→acknowledged", "acknowledged→assigned", "assigned→handled", "handled→closed",
            "closed→reopened", "reopened→acknowledged",
        ]
        for from in HazardState.allCases {
            for to in HazardState.allCases {
                let name = "\(from.name)→\(to.name)"
                if allowed.contains(name) {
                    #expect(throws: Never.self, "\(name)") { try HazardRules.checkTransition(from: from, to: to) }
                } else {
                    #expect(Comment(rawValue: name)) {
                        try HazardRules.checkTransition(from: from, to: to)
                    } throws: { error in
                        let message = (error as? RuleError)?.message ?? ""
                        return message.contains(from.name) && message.contains(to.name)
                    }
                }
            }
        }
    }

    @Test("each step is due by the grade's time")
    func dueTimes() {
        let times = HazardPolicy.standard.stepTimes[.major]!
        #expect(HazardRules.due(entering: .reported, at: 0, grade: .major, policy: policy) == times.acknowledge)
        #expect(HazardRules.due(entering: .assigned, at: 10, grade: .major, policy: policy) == 10 + times.handle)
        #expect(HazardRules.due(entering: .handled, at: 10, grade: .major, policy: policy) == 10 + times.close)
        #expect(HazardRules.due(entering: .closed, at: 10, grade: .major, policy: policy) == nil)
    }
}

@Suite("Resident identity numbers (GB 11643)")
struct IdentityNumberTests {
    @Test("the check digit, the birth date and the length are checked; a valid one is read")
    func validation() throws {
        let number = try IdentityNumber("11010519491231002x")
        #expect(number.text == "11010519491231002X")
        #expect(number.birthDate == "1949-12-31")
        #expect(!number.isMale)
        #expect(number.masked == "110105********002X")
        #expect(throws: IdentityNumber.Problem.checkDigit(expected: "X")) { try IdentityNumber("110105194912310021") }
        #expect(throws: IdentityNumber.Problem.birthDate("19491331")) { try IdentityNumber("110105194913310021") }
        #expect(throws: IdentityNumber.Problem.length(17)) { try IdentityNumber("11010519491231002") }
        #expect(throws: IdentityNumber.Problem.characters) { try IdentityNumber("11010519491231002Y") }
    }
}
