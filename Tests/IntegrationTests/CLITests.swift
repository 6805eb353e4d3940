import Foundation
import SanlianTestHarness
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// The `sanlian` executable as a user runs it: from any directory, into a pipe, with the broker
/// down. (Every command's behaviour is tested in-process, in `CLITests`.)
@Suite("The sanlian executable", .timeLimit(.minutes(2)))
struct CLIProcessTests {
    static func sanlian(
        _ arguments: [String],
        environment: [Environment.Key: String?] = [:],
        in directory: String? = nil
    ) async throws -> (status: TerminationStatus, output: String, error: String) {
        let result = try await Subprocess.run(
            .path(FilePath(try Harness.executable("sanlian"))),
            arguments: Arguments(arguments),
            environment: Harness.processEnvironment.updating(environment),
            workingDirectory: directory.map { FilePath($0) },
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20)
        )
        return (result.terminationStatus, result.standardOutput, result.standardError)
    }

    @Test("the live feed writes each event out before acknowledging it, also into a pipe, while it runs")
    func watchWritesEachEventOut() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let published = try await Self.sanlian([
                "alert", "publish", "--department", "traffic", "--id", "live-1", "--subject", "alert.hazards.traffic",
                "--headline", "G318 落石", "--severity", "severe", "--village", "511681104201", "--fingerprint",
                "road:G318", "--dir", township.stateDirectory,
            ])
            #expect(published.status == .exited(0), "\(published.error)")
            let result = try await Subprocess.run(
                .path(FilePath(try Harness.executable("sanlian"))),
                arguments: Arguments(["watch", "--name", "live", "--dir", township.stateDirectory]),
                environment: Harness.processEnvironment,
                input: .none,
                output: .sequence,
                error: .discarded
            ) { execution in
                // A watch never ends by itself: the line has to come while it runs.
                let line = try await withThrowingTaskGroup(of: String?.self) { group in
                    group.addTask {
                        for try await line in execution.standardOutput.strings() where line.contains("落石") {
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
            #expect(line.contains("road:G318"), "the fingerprint `alert ack` takes: \(line)")
        }
    }

    @Test("works from any directory once SANLIAN_DIR says where the township is")
    func fromAnyDirectory() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            let health = try await Self.sanlian(
                ["health"],
                environment: ["SANLIAN_DIR": township.stateDirectory],
                in: "/"
            )
            #expect(health.status == .exited(0), "\(health.error)")
            #expect(health.output.contains("sanlian-broker: serving"))
        }
    }

    @Test("a compose file kept in the state directory stays itself (the broker links it there otherwise)")
    func composeFileInTheStateDirectory() async throws {
        let township = try Township()
        let kept = township.stateDirectory + "/compose.yaml"
        try FileManager.default.createDirectory(atPath: township.stateDirectory, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: township.composePath, encoding: .utf8)
        try text.write(toFile: kept, atomically: true, encoding: .utf8)
        _ = try await Harness.run(
            "sanlian-broker",
            arguments: ["--compose", kept, "--state-dir", township.stateDirectory],
            ready: { try await Harness.waitForBroker(township) }
        ) { _ in
            let health = try await Self.sanlian(["health", "--dir", township.stateDirectory])
            #expect(health.status == .exited(0), "\(health.error)")
        }
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: kept)) == nil, "not replaced by a link")
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == text)
    }

    @Test("with the broker down it exits 1, saying so and how to start it (its timing: CLITests)")
    func brokerDown() async throws {
        let directory = try TemporaryDirectory()
        let result = try await Self.sanlian(["alert", "list", "--dir", directory.path])
        #expect(result.status == .exited(1))
        #expect(result.error.contains("the broker is not running"), "\(result.error)")
        #expect(result.error.contains("make run"))
    }
}
