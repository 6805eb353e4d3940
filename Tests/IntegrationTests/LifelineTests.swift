import Foundation
import SanlianTestHarness
import Subprocess
import Testing

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

@Suite("Daemons end with the process that started them", .timeLimit(.minutes(1)))
struct LifelineTests {
    /// Starts `name` with `--exit-when-stdin-closes` and a pipe for standard input, waits for
    /// `ready`, then closes the pipe, as the kernel does when the parent dies.
    static func closeStandardInput(
        of name: String,
        _ arguments: [String],
        ready: @escaping @Sendable () async throws -> Void
    ) async throws -> (status: TerminationStatus, error: String) {
        let result = try await Subprocess.run(
            .path(FilePath(try Harness.executable(name))),
            arguments: Arguments(arguments + ["--exit-when-stdin-closes"]),
            environment: Harness.processEnvironment,
            input: .inputWriter,
            output: .discarded,
            error: .string(limit: 1 << 20)
        ) { execution in
            do {
                try await ready()
            } catch {
                try? execution.send(signal: .kill)
                throw error
            }
            try await execution.standardInputWriter.finish()
        }
        return (result.terminationStatus, result.standardError)
    }

    @Test("the echo service shuts down cleanly when its standard input closes")
    func echoService() async throws {
        let township = try Township()
        let socket = township.stateDirectory + "/echo.sock"
        let outcome = try await Self.closeStandardInput(of: "sanlian-echo", ["--socket", socket]) {
            try await eventually("the echo service to listen") { FileManager.default.fileExists(atPath: socket) }
        }
        #expect(outcome.status == .exited(0), "\(outcome.error)")
        #expect(outcome.error.contains("Standard input closed"))
        #expect(outcome.error.contains("Exited cleanly"))
    }

    @Test("the broker shuts down cleanly when its standard input closes")
    func broker() async throws {
        let township = try Township()
        let outcome = try await Self.closeStandardInput(
            of: "sanlian-broker",
            ["--compose", township.composePath, "--state-dir", township.stateDirectory]
        ) {
            try await Harness.waitForBroker(township)
        }
        #expect(outcome.status == .exited(0), "\(outcome.error)")
        #expect(outcome.error.contains("Standard input closed"))
        #expect(outcome.error.contains("Exited cleanly"))
    }

    @Test("a daemon refuses to watch a standard input that cannot be watched, with one clear line")
    func unwatchable() async throws {
        let township = try Township()
        let result = try await Subprocess.run(
            .path(FilePath(try Harness.executable("sanlian-echo"))),
            arguments: ["--socket", township.stateDirectory + "/echo.sock", "--exit-when-stdin-closes"],
            environment: Harness.processEnvironment,
            input: .none,
            output: .discarded,
            error: .string(limit: 1 << 20)
        )
        #expect(result.terminationStatus == .exited(64))
        #expect(
            result.standardError.contains("needs standard input to be a pipe, a socket or a terminal"),
            "\(result.standardError)"
        )
    }
}
