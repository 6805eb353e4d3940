import Foundation
import SanlianCLI
import SanlianTestHarness
import Testing

/// `sanlian disputes …` and `sanlian hazards …` in-process, against real broker and
/// sanlian-hazards processes.
@Suite(
    "sanlian disputes and hazards commands, in-process against the broker and the hazards service",
    .timeLimit(.minutes(3))
)
struct JointControlCommandTests {
    @discardableResult
    static func ok(_ township: Township, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async
        -> String
    {
        let result = await sanlian(township, arguments)
        #expect(result.status == 0, "\(arguments): \(result.error)", sourceLocation: sourceLocation)
        return result.output
    }

    static func withHazards(_ body: @escaping @Sendable (Township) async throws -> Void) async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-hazards") { _ in try await body(township) }
        }
    }

    /// The id a command's JSON answer names.
    static func id(_ output: String) throws -> String {
        try #require((try json(output) as? [String: Any])?["id"] as? String)
    }

    @Test("the vineyard case: a 治安纠纷 graded 简单, routed to police administrative mediation, resolved after a session")
    func vineyard() async throws {
        try await Self.withHazards { township in
            let governance = ["--operator", "gov-01"]
            let accepted = await Self.ok(
                township,
                [
                    "disputes", "intake", "--category", "public_order", "--village", "511681104203", "--place", "葡萄园",
                    "--party", "葡萄园业主,role=complainant,phone=13812345601",
                    "--party", "未成年人甲的监护人,role=guardian,id=11010519491231002X",
                    "--party", "未成年人乙的监护人,role=guardian",
                    "--complaint", "葡萄被盗、围栏被毁；三天后查明系两名未成年人所为", "--json",
                ] + governance
            )
            let id = try Self.id(accepted)
            await Self.ok(
                township,
                ["disputes", "assess", id, "--grade", "simple", "--reason", "财物损失小，当事人为邻里"] + governance
            )
            await Self.ok(
                township,
                ["disputes", "route", id, "--channel", "police_administrative", "--reason", "涉未成年人治安案件，派出所调解"]
                    + governance
            )
            await Self.ok(
                township,
                ["disputes", "session", id, "--mediator", "王警官", "--summary", "业主与两名未成年人的家长面谈，家长认错"] + governance
            )
            await Self.ok(
                township,
                ["disputes", "outcome", id, "resolved", "--agreement", "家长赔偿葡萄及围栏损失共计一千二百元，当面道歉"] + governance
            )
            #expect(await Self.ok(township, ["disputes", "close", id] + governance).contains("closed"))

            let shown = await Self.ok(township, ["disputes", "show", id])
            #expect(
                shown.contains("public order") && shown.contains("simple") && shown.contains("police administrative"),
                "\(shown)"
            )
            #expect(shown.contains("11010519491231002X"), "the station holds the personal-data grant: \(shown)")
            let masked = await Self.ok(township, ["disputes", "show", id] + governance)
            #expect(masked.contains("110105********002X") && !masked.contains("11010519491231002X"), "\(masked)")
            #expect(masked.contains("138****5601"), "\(masked)")
            let history =
                (try json(await Self.ok(township, ["disputes", "show", id, "--json"])) as? [String: Any])?["history"]
                as? [[String: Any]]
            #expect(
                history?.compactMap { $0["to"] as? String } == [
                    "accepted", "assessed", "routed", "in_mediation", "resolved", "closed",
                ]
            )
            #expect(history?.allSatisfy { ($0["by"] as? String) == "governance/gov-01" } == true)

            let month = String(
                try #require(((try json(accepted) as? [String: Any])?["id"] as? String)?.dropFirst().prefix(6))
            )
            let analysis = await Self.ok(
                township,
                ["disputes", "analysis", "--month", "\(month.prefix(4))-\(month.suffix(2))", "--json"]
            )
            let figures = (try json(analysis) as? [String: Any])?["figures"] as? [String: Any]
            #expect(figures?["newDisputes"] as? Int == 1, "\(analysis)")
            #expect(figures?["resolved"] as? Int == 1)
            let text = await Self.ok(
                township,
                ["disputes", "analysis", "--month", "\(month.prefix(4))-\(month.suffix(2))"]
            )
            #expect(text.contains("resolution rate") && text.contains("100.0%"), "\(text)")
        }
    }

    @Test("closing a case graded 较大 or above: refused to a mediator, done by a station leader")
    func approval() async throws {
        try await Self.withHazards { township in
            let governance = ["--operator", "gov-01"]
            let id = try Self.id(
                await Self.ok(
                    township,
                    [
                        "disputes", "intake", "--category", "land_requisition", "--village", "511681104202",
                        "--party", "村民甲", "--party", "施工方", "--complaint", "征地补偿标准争议，二十余户", "--json",
                    ] + governance
                )
            )
            await Self.ok(
                township,
                ["disputes", "assess", id, "--grade", "relatively_major", "--reason", "涉及二十余户"] + governance
            )
            await Self.ok(
                township,
                ["disputes", "route", id, "--channel", "peoples", "--reason", "人民调解委员会"] + governance
            )
            await Self.ok(
                township,
                ["disputes", "session", id, "--mediator", "调解委员会", "--summary", "双方达成补偿方案"] + governance
            )
            await Self.ok(township, ["disputes", "outcome", id, "resolved", "--agreement", "按新标准补偿"] + governance)
            let refused = await sanlian(township, ["disputes", "close", id] + governance)
            #expect(refused.status != 0)
            #expect(
                refused.error.contains("PERMISSION_DENIED") && refused.error.contains("station_leader"),
                "\(refused.error)"
            )
            #expect(await Self.ok(township, ["disputes", "close", id, "--operator", "leader-01"]).contains("closed"))
            let shown = try json(await Self.ok(township, ["disputes", "show", id, "--json"])) as? [String: Any]
            #expect(shown?["closingApprovedBy"] as? String == "station/leader-01")
        }
    }

    @Test("a hazard through the CLI: reported, listed, moved along; an illegal step names both states")
    func hazards() async throws {
        try await Self.withHazards { township in
            let reported = await Self.ok(
                township,
                [
                    "hazards", "report", "--kind", "traffic", "--village", "511681104201", "--place", "G318 K1203",
                    "--description", "山体落石占用半幅路面", "--json", "--department", "traffic",
                ]
            )
            let id = try Self.id(reported)
            let listed = await Self.ok(township, ["hazards", "list"])
            #expect(listed.contains(id) && listed.contains("serious"), "\(listed)")
            let illegal = await sanlian(township, ["hazards", "close", id, "--evidence", "x"])
            #expect(illegal.error.contains("reported") && illegal.error.contains("closed"), "\(illegal.error)")
            await Self.ok(township, ["hazards", "ack", id])
            await Self.ok(township, ["hazards", "assign", id, "--to", "农村交管队"])
            await Self.ok(township, ["hazards", "handle", id, "--note", "清理落石，设置警示牌"])
            #expect(await Self.ok(township, ["hazards", "close", id, "--evidence", "现场复查畅通"]).contains("closed"))
            let shown = await Self.ok(township, ["hazards", "show", id])
            #expect(shown.contains("农村交管队") && shown.contains("现场复查畅通"), "\(shown)")
            #expect(await Self.ok(township, ["hazards", "list"]).split(separator: "\n").count == 1, "none open")
        }
    }
}
