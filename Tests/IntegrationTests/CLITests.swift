import Foundation
import SanlianTestHarness
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

@Suite("The sanlian CLI against a real broker", .timeLimit(.minutes(2)))
struct CLITests {
    static func sanlian(_ township: Township, _ arguments: [String]) async throws -> (
        status: TerminationStatus, output: String, error: String
    ) {
        let result = try await Subprocess.run(
            .path(FilePath(try Harness.executable("sanlian"))),
            arguments: Arguments(
                arguments + ["--compose", township.composePath, "--state-dir", township.stateDirectory]
            ),
            environment: Harness.processEnvironment,
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20)
        )
        return (result.terminationStatus, result.standardOutput, result.standardError)
    }

    @Test("the live feed writes each event out before acknowledging it, also into a pipe, while it runs")
    func watchWritesEachEventOut() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let published = try await Self.sanlian(
                township,
                [
                    "alert", "publish", "--department", "traffic", "--id", "live-1", "--subject",
                    "alert.hazards.traffic", "--headline", "G318 落石", "--severity", "severe", "--village",
                    "511681104201",
                ]
            )
            #expect(published.status == .exited(0), "\(published.error)")
            let result = try await Subprocess.run(
                .path(FilePath(try Harness.executable("sanlian"))),
                arguments: Arguments(
                    [
                        "watch", "--name", "live", "--compose", township.composePath, "--state-dir",
                        township.stateDirectory,
                    ]
                ),
                environment: Harness.processEnvironment,
                input: .none,
                output: .sequence,
                error: .discarded
            ) { execution in
                // A watch never ends by itself: the line has to come while it runs.
                let line = try await withThrowingTaskGroup(of: String?.self) { group in
                    group.addTask {
                        for try await line in execution.standardOutput.strings() where line.contains("live-1") {
                            return line
                        }
                        return nil
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(30))
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next() ?? nil
                }
                try? execution.send(signal: .kill)
                return line
            }
            let line = try #require(result.closureResult, "no line for the event while the watch ran")
            #expect(line.hasPrefix("#1 "))
        }
    }

    @Test("publish an alert, see it aggregated, acknowledge it, and watch the feed")
    func alertWorkflow() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let published = try await Self.sanlian(
                township,
                [
                    "alert", "publish", "--department", "traffic", "--id", "t-1", "--subject", "alert.hazards.traffic",
                    "--headline", "G318 道路塌方", "--severity", "severe", "--village", "511681104201", "--fingerprint",
                    "road:G318",
                ]
            )
            #expect(published.status == .exited(0), "\(published.error)")
            #expect(published.output.contains("stored as #1"))

            let list = try await Self.sanlian(township, ["alert", "list"])
            #expect(list.output.contains("road:G318"))
            #expect(list.output.contains("FIRING"))
            #expect(list.output.contains("G318 道路塌方"))

            let ack = try await Self.sanlian(township, ["alert", "ack", "road:G318", "--operator", "duty-7"])
            #expect(ack.output.contains("acknowledged by station/duty-7"), "\(ack.error)")

            let watch = try await Self.sanlian(township, ["watch", "--count", "2", "--json"])
            #expect(watch.status == .exited(0), "\(watch.error)")
            #expect(watch.output.contains("\"sequence\" : 1"))
            #expect(watch.output.contains("ACKNOWLEDGED road:G318"))
            // The subscription resumes after what it acknowledged.
            let resumed = try await Self.sanlian(township, ["ledger", "--from", "1"])
            #expect(resumed.output.contains("last sequence: 2"))
        }
    }

    @Test("bad input and refusals get one clear line and a non-zero exit")
    func errors() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let refused = try await Self.sanlian(
                township,
                [
                    "alert", "publish", "--department", "safety", "--id", "x", "--subject", "alert.hazards.fire",
                    "--headline", "h",
                ]
            )
            #expect(refused.status != .exited(0))
            #expect(refused.error.contains("PERMISSION_DENIED"))
            let badSeverity = try await Self.sanlian(
                township,
                [
                    "alert", "publish", "--id", "x", "--subject", "alert.station.x", "--headline", "h", "--severity",
                    "apocalyptic",
                ]
            )
            #expect(badSeverity.error.contains("--severity"))
            let unknown = try await Self.sanlian(township, ["health", "--department", "ministry"])
            #expect(unknown.error.contains("unknown department ministry"))
        }
    }
}
