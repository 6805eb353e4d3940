import Foundation
import NIOCore
import SanlianRPC
import SanlianWire
package import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// A process started by the harness, while its body runs.
package struct RunningProcess: Sendable {
    package let name: String
    package let pid: Int32
    /// What the process has written to standard error so far (its log), line by line.
    package let log: Locked<[String]>
    private let sendSignal: @Sendable (Signal) throws -> Void

    init(name: String, pid: Int32, log: Locked<[String]>, sendSignal: @escaping @Sendable (Signal) throws -> Void) {
        self.name = name
        self.pid = pid
        self.log = log
        self.sendSignal = sendSignal
    }

    /// The CPU time the process has used so far (user and system), in clock ticks (1/100 s).
    package func cpuTicks() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // After the name in parentheses: state is field 3, utime 14 and stime 15.
        guard let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 13,
            let user = Int(fields[11]), let system = Int(fields[12])
        else { throw HarnessError("cannot read the CPU time of \(name) from /proc/\(pid)/stat") }
        return user + system
    }

    /// Waits until the process has logged a line containing `text`; for effects inside a process
    /// that show nowhere else.
    package func waitForLog(_ text: String, timeout: Duration = .seconds(20)) async throws {
        try await eventually("\(name) to log \"\(text)\"", timeout: timeout) {
            log.withLock { lines in lines.contains { $0.contains(text) } }
        }
    }

    /// The process's peak resident memory so far (VmHWM), in bytes; nil once it has exited.
    package var peakResidentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    package func signal(_ signal: Signal) throws {
        try sendSignal(signal)
    }

    /// SIGKILL: no cleanup, as in a crash.
    package func kill() throws {
        try sendSignal(.kill)
    }
}

/// How a harness process ended.
package struct ProcessOutcome<T: Sendable>: Sendable {
    package var value: T
    package var status: TerminationStatus
    package var standardError: String

    package var exitedCleanly: Bool { status == .exited(0) }
}

package enum Harness {
    /// The environment for a process of this package a test starts: the test's own, plus
    /// LeakSanitizer's suppressions of Swift's false leaks (`Tests/lsan-suppressions.txt`) unless
    /// `LSAN_OPTIONS` is set. Only a build with `--sanitize=address` reads them; its processes
    /// exit 1 on a reported leak.
    package static var processEnvironment: Environment {
        guard ProcessInfo.processInfo.environment["LSAN_OPTIONS"] == nil else { return .inherit }
        let suppressions = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("lsan-suppressions.txt").path
        return .inherit.updating(["LSAN_OPTIONS": "suppressions=\(suppressions)"])
    }

    /// A built executable of this package, next to the test bundle.
    package static func executable(_ name: String) throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw HarnessError("\(name) is not built; run `swift build` first")
    }

    /// Starts `name`, waits until `ready` succeeds, runs `body`, then stops the process with
    /// SIGTERM (unless `body` already ended it, e.g. with SIGKILL) and waits for it to exit.
    ///
    /// The daemon's standard input is a pipe this process holds, and it runs with
    /// `--exit-when-stdin-closes` (every daemon takes `StandardInputLifeline.Options`): if the
    /// test process dies, the kernel closes the pipe and the daemon shuts down, rather than
    /// outliving the test run.
    package static func run<T: Sendable>(
        _ name: String,
        arguments: [String],
        ready: @escaping @Sendable () async throws -> Void,
        _ body: @escaping @Sendable (RunningProcess) async throws -> T
    ) async throws -> ProcessOutcome<T> {
        let binary = try executable(name)
        let log = Locked<[String]>([])
        let result = try await Subprocess.run(
            .path(FilePath(binary)),
            arguments: Arguments(arguments + ["--exit-when-stdin-closes"]),
            environment: processEnvironment,
            input: .inputWriter,
            output: .discarded,
            error: .sequence
        ) { execution -> T in
            let process = RunningProcess(
                name: name,
                pid: execution.processIdentifier.value,
                log: log,
                sendSignal: { signal in try execution.send(signal: signal) }
            )
            return try await withThrowingTaskGroup(of: T?.self) { group in
                // The log is read as it is written, so that a test can wait for a line.
                group.addTask {
                    for try await line in execution.standardError.strings() {
                        log.withLock { $0.append(line) }
                    }
                    return nil
                }
                group.addTask {
                    do {
                        try await ready()
                        let value = try await body(process)
                        try? execution.send(signal: .terminate)
                        try await waitForExit(of: process, afterSignal: "SIGTERM")
                        return value
                    } catch {
                        try? execution.send(signal: .kill)
                        throw error
                    }
                }
                var value: T?
                // The log ends when the process does; both tasks finish.
                for try await result in group {
                    if let result { value = result }
                }
                return value!
            }
        }
        return ProcessOutcome(
            value: result.closureResult,
            status: result.terminationStatus,
            standardError: log.value.joined(separator: "\n")
        )
    }

    /// How long a daemon may take to exit after SIGTERM before the test fails.
    static let stopTimeout: Duration = .seconds(15)

    /// Waits until `process` has exited (a zombie not yet reaped counts), for at most
    /// `stopTimeout`; then kills it and fails, so that a daemon that ignores SIGTERM fails its
    /// test with its name rather than leaving the test waiting until its time limit.
    static func waitForExit(of process: RunningProcess, afterSignal signal: String) async throws {
        do {
            try await eventually("\(process.name) to exit", timeout: stopTimeout) {
                // The third field of /proc/PID/stat is the state; the name before it is in parentheses.
                guard let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8),
                    let state = stat.split(separator: ")").last?.split(separator: " ").first
                else { return true }
                return state == "Z" || state == "X"
            }
        } catch is HarnessError {
            try? process.kill()
            throw HarnessError("\(process.name) did not exit within \(stopTimeout) of \(signal); killed it")
        }
    }

    /// Runs `name` to completion (for processes expected to exit by themselves, e.g. on bad config).
    package static func runToExit(_ name: String, arguments: [String]) async throws -> ProcessOutcome<Void> {
        let result = try await Subprocess.run(
            .path(FilePath(try executable(name))),
            arguments: Arguments(arguments),
            environment: processEnvironment,
            output: .discarded,
            error: .string(limit: 8 << 20)
        )
        return ProcessOutcome(value: (), status: result.terminationStatus, standardError: result.standardError)
    }

    /// Runs the broker of `township` for the duration of `body`; ready once it answers a health
    /// check from the station.
    package static func withBroker<T: Sendable>(
        _ township: Township,
        _ body: @escaping @Sendable (RunningProcess) async throws -> T
    ) async throws -> ProcessOutcome<T> {
        try await run(
            "sanlian-broker",
            arguments: [
                "--compose", township.composePath, "--state-dir", township.stateDirectory, "--log-level", "info",
            ],
            ready: { try await waitForBroker(township) },
            body
        )
    }

    package static func waitForBroker(_ township: Township) async throws {
        try await eventually("the broker's secrets") {
            FileManager.default.fileExists(atPath: township.credentialFile("station"))
        }
        try await township.withClient("station") { client in
            let health = try await client.unary(
                HealthV1.Health.check,
                HealthV1.HealthCheckRequest(),
                options: CallOptions(timeout: .seconds(20), waitForReady: true)
            )
            guard health.status == .serving else { throw HarnessError("the broker is \(health.status.protoName)") }
        }
    }

    /// Runs an echo service registered with the township's broker as `department`.
    package static func withEchoService<T: Sendable>(
        _ township: Township,
        department: String = "traffic",
        instance: String,
        _ body: @escaping @Sendable (RunningProcess) async throws -> T
    ) async throws -> ProcessOutcome<T> {
        try await run(
            "sanlian-echo",
            arguments: [
                "--broker", township.brokerSocket, "--department", department,
                "--credential-file", township.credentialFile(department), "--instance", instance,
            ],
            ready: {
                try await township.withClient("station") { client in
                    try await eventually("\(instance) to register") {
                        let services = try await client.unary(
                            BrokerV1.Broker.listServices,
                            BrokerV1.ListServicesRequest()
                        )
                        return services.services.contains { $0.instanceNames.contains(instance) }
                    }
                }
            },
            body
        )
    }
}

extension Township {
    /// The default compose file with the two stand-in services of the frame's tests: Front run by
    /// the traffic office, Back by comprehensive governance, each department allowed to serve its
    /// own and to call the other's, the station allowed to call both.
    package static func withStandins(_ text: String) -> String {
        text.replacingOccurrences(
            of: "\"/sanlian.echo.v1.Echo/*\"]",
            with: "\"/sanlian.echo.v1.Echo/*\", \"/sanlian.standin.v1.*/*\"]"
        )
        .replacingOccurrences(
            of: "serve: [\"sanlian.hazards.v1.*\", \"sanlian.echo.v1.*\"]",
            with: "serve: [\"sanlian.hazards.v1.*\", \"sanlian.echo.v1.*\", \"sanlian.standin.v1.Front\"]"
        )
        .replacingOccurrences(
            of: "serve: [\"sanlian.patrol.v1.*\", \"sanlian.echo.v1.*\"]",
            with: "serve: [\"sanlian.patrol.v1.*\", \"sanlian.echo.v1.*\", \"sanlian.standin.v1.Back\"]"
        )
            + """

              sanlian-standin-front:
                department: traffic
                database: data/standin-front.sqlite
              sanlian-standin-back:
                department: governance
                database: data/standin-back.sqlite

            """
    }
}

extension Harness {
    /// Runs the department service `name` (an executable of this package, with its entry under
    /// the compose file's `services`) of `township` for the duration of `body`; ready once it has
    /// registered with the broker, which must be running.
    package static func withService<T: Sendable>(
        _ township: Township,
        _ name: String,
        _ body: @escaping @Sendable (RunningProcess) async throws -> T
    ) async throws -> ProcessOutcome<T> {
        try await run(
            name,
            arguments: [
                "--compose", township.composePath, "--state-dir", township.stateDirectory, "--log-level", "info",
            ],
            ready: { try await waitForRegistration(township, instance: name) },
            body
        )
    }

    /// Waits until an instance named `instance` is registered with the township's broker.
    package static func waitForRegistration(_ township: Township, instance: String) async throws {
        try await township.withClient("station") { client in
            try await eventually("\(instance) to register") {
                let services = try await client.unary(BrokerV1.Broker.listServices, BrokerV1.ListServicesRequest())
                return services.services.contains { $0.instanceNames.contains(instance) }
            }
        }
    }
}
