import Foundation
import SanlianCLI
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// Runs `arguments` as `sanlian` does, in this process, against `township`, in English unless
/// told otherwise.
func sanlian(
    _ township: Township,
    _ arguments: [String],
    language: Language = .english
) async -> (status: Int32, output: String, error: String) {
    await Language.$override.withValue(language) {
        await Sanlian.run(arguments + ["--dir", township.stateDirectory])
    }
}

/// The JSON a command printed: an object or an array.
func json(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

/// Publishes an alert as the traffic office through the CLI.
func publish(
    _ township: Township,
    id: String,
    severity: String = "severe",
    village: String = "511681104201",
    fingerprint: String? = nil,
    headline: String = "G318 道路塌方"
) async throws {
    let result = await sanlian(
        township,
        [
            "alert", "publish", "--department", "traffic", "--id", id, "--subject", "alert.hazards.traffic",
            "--headline", headline, "--severity", severity, "--village", village, "--fingerprint",
            fingerprint ?? "fp-\(id)",
        ]
    )
    guard result.status == 0 else { throw HarnessError("publish \(id) failed: \(result.error)") }
}

@Suite("sanlian commands, in-process against a real broker", .timeLimit(.minutes(3)))
struct CLICommandTests {
    @Test("publish, list, show, acknowledge and resolve an alert")
    func alertWorkflow() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let published = await sanlian(
                township,
                [
                    "alert", "publish", "--department", "traffic", "--id", "t-1", "--subject", "alert.hazards.traffic",
                    "--headline", "G318 道路塌方", "--severity", "severe", "--village", "511681104201",
                    "--fingerprint", "road:G318",
                ]
            )
            #expect(published.status == 0, "\(published.error)")
            #expect(published.output == "stored as #1\n")

            let list = await sanlian(township, ["alert", "list"])
            #expect(list.status == 0, "\(list.error)")
            let row = try #require(list.output.split(separator: "\n").first { $0.hasPrefix("road:G318") })
            for cell in ["firing", "severe", "traffic", "511681104201", "G318 道路塌方"] {
                #expect(row.contains(cell), "\(cell) in \(row)")
            }

            let ack = await sanlian(township, ["alert", "ack", "road:G318", "--operator", "duty-0421"])
            #expect(ack.output == "road:G318: acknowledged by station/duty-0421\n", "\(ack.error)")
            let resolved = await sanlian(township, ["alert", "resolve", "road:G318", "--operator", "duty-0421"])
            #expect(resolved.output == "road:G318: resolved by station/duty-0421\n", "\(resolved.error)")

            let show = await sanlian(township, ["alert", "show", "road:G318"])
            #expect(show.status == 0, "\(show.error)")
            #expect(show.output.contains("state: resolved"))
            let history = show.output.split(separator: "\n").filter { $0.hasPrefix("#") }
            #expect(history.count == 3, "the alert, its acknowledgement and its resolution: \(show.output)")
            #expect(history.last?.contains("resolved by station/duty-0421") == true)

            let missing = await sanlian(township, ["alert", "show", "no-such"])
            #expect(missing.status == 1 && missing.error.contains("NOT_FOUND"), "\(missing.error)")
        }
    }

    @Test("the list comes firing first, the most severe and most escalated first, and filters like matchers")
    func listOrderAndFilters() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await publish(township, id: "minor", severity: "minor")
            try await publish(township, id: "extreme", severity: "extreme", village: "511681104202")
            try await publish(township, id: "moderate", severity: "moderate")
            try await publish(township, id: "acked", severity: "extreme")
            _ = await sanlian(township, ["alert", "ack", "fp-acked"])

            let list = await sanlian(township, ["alert", "list", "--json"])
            let aggregates = try #require(try json(list.output) as? [[String: Any]], "\(list.output)")
            #expect(
                aggregates.map { $0["fingerprint"] as? String } == [
                    "fp-extreme", "fp-moderate", "fp-minor", "fp-acked",
                ]
            )
            #expect(aggregates.first?["state"] as? String == "firing")

            let severe = await sanlian(
                township,
                ["alert", "list", "--json", "--severity", "extreme", "--state", "firing"]
            )
            #expect(
                (try json(severe.output) as? [[String: Any]])?.map { $0["fingerprint"] as? String } == ["fp-extreme"]
            )
            let village = await sanlian(township, ["alert", "list", "--json", "--village", "511681104202"])
            #expect((try json(village.output) as? [[String: Any]])?.count == 1)
            let sender = await sanlian(township, ["alert", "list", "--json", "--sender", "station"])
            #expect((try json(sender.output) as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test("--json on every command: JSON with fields, no raw enum names")
    func jsonEverywhere() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let publish = await sanlian(
                township,
                [
                    "alert", "publish", "--json", "--department", "traffic", "--id", "j-1", "--subject",
                    "alert.hazards.traffic", "--headline", "积水", "--severity", "moderate", "--fingerprint", "water:1",
                ]
            )
            let receipt = try #require(try json(publish.output) as? [String: Any], "\(publish.output) \(publish.error)")
            #expect(receipt["sequence"] as? String == "1" && receipt["duplicate"] as? Bool == false)
            for arguments in [
                ["health", "--json"], ["services", "--json"], ["alert", "list", "--json"],
                ["alert", "show", "water:1", "--json"], ["ledger", "--json"], ["dead-letters", "--json"],
                ["alert", "ack", "water:1", "--json"], ["alert", "resolve", "water:1", "--json"],
                ["watch", "--json", "--count", "3"],
            ] {
                let result = await sanlian(township, arguments)
                #expect(result.status == 0, "\(arguments): \(result.error)")
                // A stream writes one object per line; the others one JSON value.
                let texts =
                    arguments.first == "watch" ? result.output.split(separator: "\n").map(String.init) : [result.output]
                for text in texts {
                    #expect((try? json(text)) != nil, "\(arguments) printed no JSON: \(text)")
                }
                for raw in ["AGGREGATE_STATE_", "SEVERITY_", "SERVING_STATUS_", "CATEGORY_", "ALERT_STATUS_"] {
                    #expect(!result.output.contains(raw), "\(arguments) printed a raw enum name: \(result.output)")
                }
            }
            let watched = await sanlian(township, ["watch", "--json", "--name", "json-2", "--count", "1"])
            let event = try #require(
                try json(watched.output.split(separator: "\n").first.map(String.init) ?? "") as? [String: Any]
            )
            #expect(event["sequence"] as? String == "1")
            #expect(event["aggregateFingerprint"] as? String == "water:1")
            let alert = (event["alert"] as? [String: Any])
            #expect(alert?["severity"] as? String == "moderate")
        }
    }

    @Test("labels, states and severities in Chinese when the locale is Chinese")
    func chinese() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await publish(township, id: "zh", severity: "severe")
            let list = await sanlian(township, ["alert", "list"], language: .chinese)
            #expect(list.output.contains("告警中") && list.output.contains("严重") && list.output.contains("指纹"))
            #expect(!list.output.contains("firing"))
        }
    }

    @Test("invalid input is refused naming the option: a blank headline, an unknown severity, an unknown department")
    func invalidInput() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let blank = await sanlian(
                township,
                ["alert", "publish", "--id", "b", "--subject", "alert.station.x", "--headline", "   "]
            )
            #expect(blank.status != 0 && blank.error.contains("--headline"), "\(blank.error)")
            let severity = await sanlian(
                township,
                [
                    "alert", "publish", "--id", "b", "--subject", "alert.station.x", "--headline", "h", "--severity",
                    "apocalyptic",
                ]
            )
            #expect(severity.status != 0 && severity.error.contains("--severity"), "\(severity.error)")
            #expect(severity.error.contains("extreme"), "the values it takes: \(severity.error)")
            let department = await sanlian(township, ["health", "--department", "ministry"])
            #expect(
                department.status == 1 && department.error.contains("--department: ministry"),
                "\(department.error)"
            )
            let refused = await sanlian(
                township,
                [
                    "alert", "publish", "--department", "safety", "--id", "x", "--subject", "alert.hazards.fire",
                    "--headline", "h",
                ]
            )
            #expect(refused.status == 1 && refused.error.contains("PERMISSION_DENIED"), "\(refused.error)")
        }
    }

    @Test("ledger reads on past one answer to any limit, and says where to go on")
    func ledgerPaging() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            for index in 0..<30 { try await publish(township, id: "l-\(index)") }
            let some = await sanlian(township, ["ledger", "--limit", "25"])
            #expect(some.output.split(separator: "\n").filter { $0.hasPrefix("#") }.count == 25)
            #expect(some.error.contains("read on with --from 26"), "\(some.error)")
            let all = await sanlian(township, ["ledger", "--limit", "1000000", "--json"])
            #expect((try json(all.output) as? [Any])?.count == 30, "\(all.error)")
        }
    }

    @Test("with the broker down a command fails within a second, saying so and how to start it; --wait waits")
    func brokerDown() async throws {
        let directory = try TemporaryDirectory()
        let clock = ContinuousClock()
        let started = clock.now
        let result = await Sanlian.run(["alert", "list", "--dir", directory.path])
        let elapsed = clock.now - started
        #expect(result.status == 1)
        #expect(result.error.contains("the broker is not running: there is no socket at"), "\(result.error)")
        #expect(result.error.contains("make run") && result.error.contains("--wait"))
        #expect(elapsed < .seconds(1), "took \(elapsed)")

        let waited = await Sanlian.run(["health", "--dir", directory.path, "--wait", "--timeout", "1"])
        #expect(waited.status == 1)
        #expect(waited.error.contains("did not come up within 1"), "\(waited.error)")
    }

    @Test("--version names the version")
    func version() async {
        let result = await Sanlian.run(["--version"])
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == Sanlian.version)
    }
}
