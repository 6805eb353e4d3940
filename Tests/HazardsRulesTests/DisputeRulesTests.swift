import HazardsRules
import Testing

@Suite("The 四分 rules: the lifecycle, recurrences, approval, alerts")
struct DisputeRulesTests {
    @Test("every step from every state: the method's order holds, and a refusal names the state")
    func lifecycle() throws {
        let steps: [(DisputeRules.Step, String)] = [
            (.assess, "assess"), (.route, "route"), (.recordSession, "session"),
            (.recordOutcome(.resolved), "resolved"),
            (.recordOutcome(.notResolved), "not resolved"), (.recordOutcome(.referredUpward), "referred"),
            (.scheduleFollowUp, "schedule"), (.recordFollowUp, "follow-up"), (.close, "close"),
        ]
        let expected: [String: DisputeState] = [
            "accepted/assess": .assessed, "assessed/assess": .assessed, "assessed/route": .routed,
            "routed/route": .routed,
            "routed/session": .inMediation, "in_mediation/session": .inMediation, "unresolved/session": .inMediation,
            "in_mediation/resolved": .resolved, "in_mediation/not resolved": .unresolved,
            "in_mediation/referred": .referredUpward, "unresolved/schedule": .unresolved,
            "resolved/schedule": .resolved,
            "in_mediation/schedule": .inMediation, "resolved/close": .closed, "referred_upward/close": .closed,
        ]
        for state in DisputeState.allCases {
            for (step, name) in steps {
                let key = "\(state.name)/\(name)"
                if let next = expected[key] {
                    #expect(try DisputeRules.apply(step, to: state) == next, "\(key)")
                } else if name == "follow-up" && state != .closed {
                    #expect(try DisputeRules.apply(step, to: state) == state, "\(key)")
                } else {
                    #expect(Comment(rawValue: key)) {
                        try DisputeRules.apply(step, to: state)
                    } throws: { error in
                        (error as? RuleError)?.kind == .precondition
                            && (error as? RuleError)?.message.contains(state.name) == true
                    }
                }
            }
        }
    }

    @Test("a recurrence: the same party by ID number, the same parties by name, or the same place, within the period")
    func recurrence() {
        let day: Int64 = 86_400_000
        let earlier = [
            EarlierDispute(
                id: "D1",
                acceptedMs: 10 * day,
                parties: [DisputeParty(name: "王大山", idNumber: "11010519491231002X"), DisputeParty(name: "李二")],
                place: DisputePlace(villageCode: "511681104201", villageGroup: "三组")
            ),
            EarlierDispute(
                id: "D2",
                acceptedMs: 20 * day,
                parties: [DisputeParty(name: "张三"), DisputeParty(name: "赵四")],
                place: DisputePlace(villageCode: "511681104202", description: "葡萄园")
            ),
        ]
        let policy = DisputePolicy(recurrenceMilliseconds: 180 * day, alertGrade: .relativelyMajor)
        let byID = DisputeRules.recurrence(
            parties: [DisputeParty(name: "王某", idNumber: "11010519491231002x")],
            place: DisputePlace(villageCode: "511681104209"),
            at: 30 * day,
            among: earlier,
            policy: policy
        )
        #expect(byID?.of.id == "D1")
        let byNames = DisputeRules.recurrence(
            parties: [DisputeParty(name: "赵四"), DisputeParty(name: "张 三")],
            place: DisputePlace(villageCode: "511681104209"),
            at: 30 * day,
            among: earlier,
            policy: policy
        )
        #expect(byNames?.of.id == "D2")
        let byPlace = DisputeRules.recurrence(
            parties: [DisputeParty(name: "路人")],
            place: DisputePlace(villageCode: "511681104202", description: "葡萄园"),
            at: 30 * day,
            among: earlier,
            policy: policy
        )
        #expect(byPlace?.of.id == "D2")
        #expect(byPlace?.reason.contains("place") == true)
        let sameVillageOnly = DisputeRules.recurrence(
            parties: [DisputeParty(name: "路人")],
            place: DisputePlace(villageCode: "511681104202"),
            at: 30 * day,
            among: earlier,
            policy: policy
        )
        #expect(sameVillageOnly == nil, "a village alone is not a place")
        let tooLate = DisputeRules.recurrence(
            parties: [DisputeParty(name: "赵四"), DisputeParty(name: "张三")],
            place: DisputePlace(villageCode: "511681104209"),
            at: 201 * day,
            among: earlier,
            policy: policy
        )
        #expect(tooLate == nil, "past the period")
    }

    @Test("a recurrence's grade is raised one level, the reason recorded; 特大 stays")
    func recurrenceRaisesTheGrade() {
        let raised = DisputeRules.assess(grade: .simple, reason: "两户邻里纠纷", recurrenceOf: "D1")
        #expect(raised.grade == .general)
        #expect(raised.reason.contains("D1") && raised.reason.contains("由简单升为一般"))
        #expect(DisputeRules.assess(grade: .simple, reason: "x", recurrenceOf: nil).grade == .simple)
        #expect(DisputeRules.assess(grade: .extremelyMajor, reason: "x", recurrenceOf: "D1").grade == .extremelyMajor)
    }

    @Test("closing a case graded 较大 or above needs the station leader's role; below it anyone may")
    func approval() {
        #expect(throws: Never.self) { try DisputeRules.checkClosing(grade: .general, callerRoles: []) }
        #expect(throws: Never.self) {
            try DisputeRules.checkClosing(grade: .relativelyMajor, callerRoles: ["station_leader"])
        }
        #expect {
            try DisputeRules.checkClosing(grade: .relativelyMajor, callerRoles: ["duty_officer", "mediator"])
        } throws: { error in
            (error as? RuleError)?.kind == .permission
        }
        #expect { try DisputeRules.checkClosing(grade: .extremelyMajor, callerRoles: []) } throws: { _ in true }
    }

    @Test("alerts from the policy's grade up")
    func alerts() {
        let policy = DisputePolicy.standard
        #expect(DisputeRules.alerts(grade: .major, policy: policy))
        #expect(DisputeRules.alerts(grade: .relativelyMajor, policy: policy))
        #expect(!DisputeRules.alerts(grade: .general, policy: policy))
    }

    @Test("parties: a bad ID number or phone is refused naming the party's field")
    func parties() {
        #expect {
            try DisputeRules.check(parties: [DisputeParty(name: "王", idNumber: "110105194912310021")])
        } throws: { error in
            (error as? RuleError)?.message.hasPrefix("parties[0].resident_id_number") == true
        }
        #expect {
            try DisputeRules.check(parties: [DisputeParty(name: "王"), DisputeParty(name: "李", phone: "123")])
        } throws: { error in
            (error as? RuleError)?.message.hasPrefix("parties[1].phone") == true
        }
        #expect { try DisputeRules.check(parties: []) } throws: { _ in true }
    }
}
