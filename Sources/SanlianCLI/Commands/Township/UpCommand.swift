import ArgumentParser
import Foundation
import SanlianContracts
import SanlianWire
import TownshipLauncher
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// `sanlian up`: the whole township, supervised, until Ctrl-C or SIGTERM (or `sanlian down`).
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the township: the broker, then every service of the compose file, supervised.",
        discussion: """
            Each process starts once the one before it is healthy (the broker answers; a service has \
            registered), in the order the compose file's `after:` gives. A process that exits is \
            restarted with backoff (0.5 s doubling to 30 s), and the line says so. Ctrl-C or SIGTERM \
            stops them all in reverse order and leaves no process and no socket behind. State lives \
            under DIR: sockets in DIR/run, databases in DIR/data, logs in DIR/log (`sanlian logs`).

            With -d it runs in the background: `sanlian status` shows it, `sanlian down` stops it.
            """
    )

    @OptionGroup var township: TownshipOptions

    @Flag(name: [.customShort("d"), .customLong("detach")], help: "Run in the background and return once ready.")
    var detach = false

    @Option(help: ArgumentHelp("Where the executables are (default: beside this one).", valueName: "dir"))
    var binDir: String?

    @Option(help: ArgumentHelp("Seconds each process has to become healthy.", valueName: "seconds"))
    var readyTimeout: Int = 60

    /// Set on the background launcher that `up -d` starts.
    @Flag(help: .private) var detachedChild = false

    func validate() throws {
        guard readyTimeout > 0 else { throw ValidationError("--ready-timeout: a positive number of seconds") }
    }

    func run() async throws {
        let (composePath, compose) = try township.compose()
        let stateDirectory = township.stateDirectory
        if let running = try? RunState.read(stateDirectory: stateDirectory), running.launcherIsAlive,
            running.launcherPID != getpid()
        {
            throw CLIError(
                "the township in \(stateDirectory) is already up (launcher pid \(running.launcherPID)): `sanlian status` shows it, `sanlian down` stops it"
            )
        }
        let binDirectory = binDir ?? Self.ownDirectory()
        let plan = LaunchPlan(
            compose: compose,
            composePath: composePath,
            stateDirectory: stateDirectory,
            binDirectory: binDirectory
        )
        for process in plan.processes where !FileManager.default.isExecutableFile(atPath: process.executable) {
            throw CLIError(
                "no executable \(process.executable) (build the township with `make build`, or say where it is with --bin-dir)"
            )
        }
        if detach {
            try await startInBackground(plan: plan)
            return
        }
        // The background launcher leaves the terminal's session: closing the terminal does not stop it.
        if detachedChild { _ = setsid() }
        try await runInForeground(plan: plan)
    }

    private func runInForeground(plan: LaunchPlan) async throws {
        let console = Console.current
        let connection = try township.connection(composePath: plan.composePath)
        let supervisor = Supervisor(
            plan: plan,
            readyTimeout: .seconds(readyTimeout),
            readiness: { process in try await Self.checkHealthy(process, connection: connection) },
            report: { event in console.line("sanlian up: " + Self.describe(event, plan: plan)) }
        )
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await supervisor.run() }
            group.addTask {
                for await _ in signals { await supervisor.requestStop() }
            }
            defer { group.cancelAll() }
            do {
                try await group.next()
            } catch let error as LaunchError {
                throw CLIError(error.description)
            }
        }
        console.line("sanlian up: stopped")
    }

    /// Starts `sanlian up` again as a launcher of its own session, its output in DIR/log, and
    /// returns once it says the township is ready (or fails, with its last lines).
    private func startInBackground(plan: LaunchPlan) async throws {
        try FileManager.default.createDirectory(atPath: plan.logDirectory, withIntermediateDirectories: true)
        let logPath = plan.logDirectory + "/sanlian-up.log"
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: Self.ownExecutable())
        launcher.arguments = [
            "up", "-f", plan.composePath, "--dir", plan.stateDirectory, "--bin-dir",
            (plan.processes[0].executable as NSString).deletingLastPathComponent, "--ready-timeout",
            String(readyTimeout), "--detached-child",
        ]
        launcher.standardInput = FileHandle.nullDevice
        launcher.standardOutput = log
        launcher.standardError = log
        try launcher.run()
        try? log.close()
        let deadline = ContinuousClock.now + .seconds(readyTimeout * plan.processes.count + 5)
        while ContinuousClock.now < deadline {
            if let state = try? RunState.read(stateDirectory: plan.stateDirectory),
                state.launcherPID == launcher.processIdentifier, state.ready
            {
                Console.current.line(Self.readyLine(plan) + "; in the background (pid \(launcher.processIdentifier))")
                return
            }
            if !launcher.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        if launcher.isRunning { kill(launcher.processIdentifier, SIGTERM) }
        let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").suffix(5) ?? []
        throw CLIError(
            "the township did not come up; the launcher's last lines (\(logPath)):\n" + tail.joined(separator: "\n")
        )
    }

    static func readyLine(_ plan: LaunchPlan) -> String {
        "ready: \(plan.processes.count) processes; sockets in \(plan.runDirectory), data in \(plan.dataDirectory), logs in \(plan.logDirectory)"
    }

    static func describe(_ event: LauncherEvent, plan: LaunchPlan) -> String {
        switch event {
        case .started(let name, let pid, let restarts):
            return restarts == 0
                ? "\(name) started (pid \(pid))" : "\(name) restarted (pid \(pid), restart \(restarts))"
        case .healthy(let name): return "\(name) healthy"
        case .ready: return readyLine(plan) + "; Ctrl-C stops the township"
        case .exited(let name, let how, let wait, let restarts):
            return "\(name) \(how); restarting in \(Self.seconds(wait)) (restart \(restarts))"
        case .stopping(let name): return "stopping \(name)"
        case .stopped(let name, let how): return "\(name) stopped (\(how))"
        }
    }

    /// Returns once `process` is healthy: the broker answers a health check; a service is
    /// registered with it.
    static func checkHealthy(_ process: LaunchPlan.Process, connection: ConnectionOptions) async throws {
        try await BrokerSession.run(connection) { session in
            if process.department == nil {
                let health = try await session.health.check(HealthV1.HealthCheckRequest())
                guard health.status == .serving else { throw CLIError("the broker is \(health.status.protoName)") }
            } else {
                let services = try await session.broker.listServices(BrokerV1.ListServicesRequest())
                guard services.services.contains(where: { $0.instanceNames.contains(process.name) }) else {
                    throw CLIError("\(process.name) is not registered")
                }
            }
        }
    }

    /// "0.5 s", "2 s".
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0
            ? "\(milliseconds / 1000) s" : String(format: "%.1f s", Double(milliseconds) / 1000)
    }

    /// This executable's path.
    static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func ownDirectory() -> String { (ownExecutable() as NSString).deletingLastPathComponent }
}
