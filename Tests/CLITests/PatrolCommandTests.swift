import Foundation
import SanlianCLI
import SanlianTestHarness
import Testing

/// `sanlian patrol …` in-process, against real broker and sanlian-patrol processes.
@Suite("sanlian patrol commands, in-process against the broker and the patrol service", .timeLimit(.minutes(3)))
struct PatrolCommandTests {
    /// Runs `arguments` and expects them to succeed; returns what they printed.
    @discardableResult
    static func ok(_ township: Township, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async
        -> String
    {
        let result = await sanlian(township, ["patrol"] + arguments)
        #expect(result.status == 0, "\(arguments): \(result.error)", sourceLocation: sourceLocation)
        return result.output
    }

    static func withPatrol(_ body: @escaping @Sendable (Township) async throws -> Void) async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-patrol") { _ in try await body(township) }
        }
    }

    @Test("import volunteers from CSV: every bad row listed at once and nothing imported, then all of a good file")
    func importVolunteers() async throws {
        try await Self.withPatrol { township in
            await Self.ok(township, ["team", "add", "t1", "--name", "一队"])
            let bad = township.root + "/bad.csv"
            try
                "\u{FEFF}编号,姓名,电话,类别,队\nv01,王大山,13812345601,退伍老兵,t1\nv02,李二,1381234,activist,t1\nv03,张三,13812345603,soldier,t9\n"
                .write(toFile: bad, atomically: true, encoding: .utf8)
            let refused = await sanlian(township, ["patrol", "volunteer", "import", bad])
            #expect(refused.status != 0)
            #expect(refused.output.contains("3    phone"), "\(refused.output)")
            #expect(refused.output.contains("4    kind"), "\(refused.output)")
            #expect(refused.output.contains("4    team_id"), "\(refused.output)")
            #expect(refused.error.contains("2 rows rejected; nothing was imported"), "\(refused.error)")
            #expect(await Self.ok(township, ["volunteer", "list", "--all", "--json"]) == "[]\n")

            let good = township.root + "/good.csv"
            try
                "id,name,phone,kind,skills,team_id,active\nv01,王大山,13812345601,veteran,first_aid;driving,t1,yes\nv02,李二,13812345602,activist,,t1,否\n"
                .write(toFile: good, atomically: true, encoding: .utf8)
            #expect(await Self.ok(township, ["volunteer", "import", good]).contains("imported: 2 added, 0 updated"))
            let listed =
                try json(await Self.ok(township, ["volunteer", "list", "--all", "--json"])) as? [[String: Any]]
            #expect(listed?.map { $0["id"] as? String } == ["v01", "v02"])
            #expect(listed?.first?["skills"] as? [String] == ["first_aid", "driving"])
            #expect(listed?.last?["active"] as? Bool == false)
        }
    }

    @Test("a week's roster: generated with its score, shown as a grid, one volunteer's exported as iCalendar")
    func rosterWorkflow() async throws {
        try await Self.withPatrol { township in
            await Self.ok(township, ["area", "add", "g318", "--name", "G318 高兴段", "--kind", "road"])
            for index in 1...8 {
                await Self.ok(
                    township,
                    [
                        "volunteer", "add", "v0\(index)", "--name", "志愿者\(index)", "--phone", "1381234560\(index)",
                        "--kind", index <= 3 ? "veteran" : "activist",
                    ]
                )
            }
            await Self.ok(
                township,
                [
                    "shift", "add", "day", "--area", "g318", "--name", "day", "--start", "08:00", "--end", "16:00",
                    "--people", "2",
                ]
            )
            await Self.ok(
                township,
                [
                    "shift", "add", "night", "--area", "g318", "--name", "night", "--start", "22:00", "--end", "06:00",
                    "--people", "2", "--night",
                ]
            )
            await Self.ok(township, ["availability", "set", "v04", "--off", "2026-12-08..2026-12-09"])
            let generated = await Self.ok(
                township,
                ["roster", "generate", "--from", "2026-12-07", "--to", "2026-12-13", "--seed", "3"]
            )
            #expect(generated.contains("assignments: 28"), "\(generated)")
            #expect(generated.contains("hard-rule violations: 0"), "\(generated)")
            #expect(generated.contains("shifts not filled: 0"), "\(generated)")
            let grid = await Self.ok(township, ["roster", "show", "--from", "2026-12-07"])
            let lines = grid.split(separator: "\n")
            #expect(lines.first?.contains("12/7 Mon") == true, "\(grid)")
            #expect(lines.count == 2, "\(grid)")
            #expect(lines.last?.hasPrefix("g318") == true)
            #expect(lines.last?.components(separatedBy: "2/2").count == 15, "14 shifts full: \(grid)")

            let mine = try json(
                await Self.ok(township, ["roster", "show", "--from", "2026-12-07", "--volunteer", "v04", "--json"])
            )
            let days = ((mine as? [[String: Any]]) ?? []).compactMap { $0["day"] as? String }
            #expect(!days.contains("2026-12-08") && !days.contains("2026-12-09"), "v04 is off: \(days)")
            let file = township.root + "/v04.ics"
            #expect(
                await Self.ok(
                    township,
                    ["roster", "export", "v04", "--from", "2026-12-07", "--to", "2026-12-13", "-o", file]
                ).contains("wrote \(days.count) shifts")
            )
            let calendar = try String(contentsOfFile: file, encoding: .utf8)
            #expect(calendar.hasPrefix("BEGIN:VCALENDAR\r\n"))
            #expect(calendar.components(separatedBy: "BEGIN:VEVENT").count == days.count + 1)
            #expect(calendar.contains("SUMMARY:巡逻 G318 高兴段"))
        }
    }

    @Test("a swap asked, accepted and approved moves the shift; one breaking a hard rule is refused naming it")
    func swaps() async throws {
        try await Self.withPatrol { township in
            await Self.ok(township, ["area", "add", "a1", "--name", "一组", "--kind", "village"])
            for (id, kind) in [("v1", "veteran"), ("v2", "activist"), ("v3", "activist")] {
                await Self.ok(
                    township,
                    ["volunteer", "add", id, "--name", id, "--phone", "1381234500\(id.suffix(1))", "--kind", kind]
                )
            }
            await Self.ok(
                township,
                [
                    "shift", "add", "n", "--area", "a1", "--name", "night", "--start", "22:00", "--end", "06:00",
                    "--people", "2", "--night",
                ]
            )
            await Self.ok(township, ["assignment", "add", "--shift", "n", "--day", "2030-01-07", "--volunteer", "v1"])
            let added = try json(
                await Self.ok(
                    township,
                    ["assignment", "add", "--shift", "n", "--day", "2030-01-07", "--volunteer", "v2", "--json"]
                )
            )
            let assignment = try #require((added as? [String: Any])?["id"] as? String)
            let veteran = try #require(
                ((try json(
                    await Self.ok(township, ["roster", "show", "--from", "2030-01-07", "--volunteer", "v1", "--json"])
                ) as? [[String: Any]])?.first?["id"]) as? String
            )

            // The veteran may not hand the night to a non-veteran.
            let refused = await sanlian(township, ["patrol", "swap", "request", veteran, "--to", "v3"])
            #expect(refused.status != 0)
            #expect(refused.error.contains("no veteran at night"), "\(refused.error)")

            let requested = try json(
                await Self.ok(township, ["swap", "request", assignment, "--to", "v3", "--reason", "家里有事", "--json"])
            )
            let swap = try #require((requested as? [String: Any])?["id"] as? String)
            let early = await sanlian(township, ["patrol", "swap", "decide", swap, "approve"])
            #expect(early.error.contains("the other volunteer accepts or declines it first"), "\(early.error)")
            #expect(await Self.ok(township, ["swap", "decide", swap, "accept"]).contains("accepted"))
            #expect(await Self.ok(township, ["swap", "decide", swap, "approve"]).contains("approved"))
            let onShift = await Self.ok(
                township,
                ["roster", "show", "--from", "2030-01-07", "--to", "2030-01-07", "--names"]
            )
            #expect(onShift.contains("v3") && !onShift.contains("v2 "), "\(onShift)")
        }
    }

    @Test("publicity sessions count toward the month's hours; a finding raises an alert the command room lists")
    func publicityHoursFindings() async throws {
        try await Self.withPatrol { township in
            await Self.ok(township, ["team", "add", "t1", "--name", "一队"])
            await Self.ok(township, ["area", "add", "a1", "--name", "一组", "--kind", "village"])
            await Self.ok(
                township,
                [
                    "volunteer", "add", "v1", "--name", "王大山", "--phone", "13812345601", "--kind", "veteran", "--team",
                    "t1",
                ]
            )
            await Self.ok(
                township,
                [
                    "publicity", "record", "--topic", "防电信诈骗", "--audience", "村民", "--attendees", "45",
                    "--at", "2026-12-06 19:30", "--minutes", "90", "--volunteer", "v1",
                ]
            )
            let hours = await Self.ok(township, ["hours", "--month", "2026-12"])
            #expect(hours.contains("v1") && hours.contains("1.5"), "\(hours)")
            #expect(hours.contains("1 publicity sessions, 45 attendees"), "\(hours)")

            await Self.ok(
                township,
                [
                    "shift", "add", "d", "--area", "a1", "--name", "day", "--start", "08:00", "--end", "16:00",
                    "--people", "1",
                ]
            )
            let added = try json(
                await Self.ok(
                    township,
                    ["assignment", "add", "--shift", "d", "--day", "2030-01-07", "--volunteer", "v1", "--json"]
                )
            )
            let assignment = try #require((added as? [String: Any])?["id"] as? String)
            let reported = await Self.ok(
                township,
                [
                    "finding", "report", assignment, "--kind", "suspicious_person", "--description", "村口有陌生人徘徊",
                    "--village", "511681104201",
                ]
            )
            #expect(reported.contains("alert patrol-finding-"), "\(reported)")
            try await eventually("the finding's alert in the command room's list") {
                await sanlian(township, ["alert", "list"]).output.contains("村口有陌生人徘徊")
            }
            let invalid = await sanlian(
                township,
                ["patrol", "finding", "report", assignment, "--kind", "ufo", "--description", "x"]
            )
            #expect(invalid.status != 0)
            #expect(invalid.error.contains("--kind"), "\(invalid.error)")
        }
    }
}
