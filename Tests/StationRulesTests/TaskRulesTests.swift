import StationRules
import Testing

@Suite("The command room's task rules")
struct TaskRulesTests {
    @Test("dispatched → acknowledged → in progress (again and again) → completed; nothing else")
    func order() throws {
        #expect(try TaskRules.next(.dispatched, .acknowledge) == .acknowledged)
        #expect(try TaskRules.next(.acknowledged, .reportProgress) == .inProgress)
        #expect(try TaskRules.next(.inProgress, .reportProgress) == .inProgress)
        #expect(try TaskRules.next(.inProgress, .complete) == .completed)
        #expect(try TaskRules.next(.acknowledged, .complete) == .completed)
        let allowed: Set<String> = [
            "dispatched acknowledge", "acknowledged reportProgress", "inProgress reportProgress",
            "acknowledged complete", "inProgress complete",
        ]
        for state in TaskRules.State.allCases {
            for (action, name) in [
                (TaskRules.Action.acknowledge, "acknowledge"), (.reportProgress, "reportProgress"),
                (.complete, "complete"),
            ] where !allowed.contains("\(state) \(name)") {
                #expect(throws: TaskRules.Refusal.self, "\(state) \(name)") { try TaskRules.next(state, action) }
            }
        }
        #expect(throws: TaskRules.Refusal("cannot complete a task that is dispatched")) {
            try TaskRules.next(.dispatched, .complete)
        }
    }

    @Test("a team's task is its department's to act on, and the station's")
    func assignees() {
        #expect(TaskRules.assignee(team: .ruralTraffic, department: "") == "traffic")
        #expect(TaskRules.assignee(team: .patrol, department: "") == "governance")
        #expect(TaskRules.assignee(team: .ruralPolicing, department: "") == "station")
        #expect(TaskRules.assignee(team: nil, department: "safety") == "safety")
        #expect(TaskRules.mayAct(caller: "traffic", assignee: "traffic"))
        #expect(TaskRules.mayAct(caller: "station", assignee: "traffic"))
        #expect(!TaskRules.mayAct(caller: "governance", assignee: "traffic"))
    }

    @Test("overdue: past due and not completed, or completed after it")
    func overdue() {
        #expect(!TaskRules.isOverdue(due: 100, completedAt: nil, now: 100))
        #expect(TaskRules.isOverdue(due: 100, completedAt: nil, now: 101))
        #expect(!TaskRules.isOverdue(due: 100, completedAt: 99, now: 500))
        #expect(TaskRules.isOverdue(due: 100, completedAt: 101, now: 101))
    }

    @Test("rates per mille, rounded half up; none without a base")
    func permille() {
        #expect(ReportFigures.permille(1, of: 2) == 500)
        #expect(ReportFigures.permille(2, of: 3) == 667)
        #expect(ReportFigures.permille(1, of: 3) == 333)
        #expect(ReportFigures.permille(191, of: 200) == 955)
        #expect(ReportFigures.permille(0, of: 0) == 0)
    }
}
