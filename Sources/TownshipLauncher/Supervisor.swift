import Foundation
import Subprocess
import Synchronization

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// What the supervisor tells the person at the terminal, as it happens.
package enum LauncherEvent: Sendable, Equatable {
    case started(name: String, pid: Int32, restarts: Int)
    case healthy(name: String)
    /// Every process is up and healthy.
    case ready
    case exited(name: String, how: String, restartIn: Duration, restarts: Int)
    case stopping(name: String)
    case stopped(name: String, how: String)
}

/// Why the township could not start, naming the process at fault.
package struct LaunchError: Error, CustomStringConvertible, Equatable {
    package var description: String

    package init(_ description: String) {
        self.description = description
    }
}

/// Starts a township's processes in order, each once the one before it is healthy; restarts a
/// process that exits, with backoff (0.5 s doubling to 30 s, back to 0.5 s once it has run for
/// 30 s); on `requestStop()` stops them in the reverse order (SIGTERM, then SIGKILL after
/// `stopTimeout`) and removes what they leave in the run directory. The state is in
/// `DIR/run/township.json` throughout.
package actor Supervisor {
    private let plan: LaunchPlan
    private let readiness: @Sendable (LaunchPlan.Process) async throws -> Void
    private let readyTimeout: Duration
    private let stopTimeout: Duration
    private let report: @Sendable (LauncherEvent) -> Void

    private var state: RunState
    private var stopRequested = false
    private var stopWaiter: CheckedContinuation<Void, Never>?
    /// Processes being stopped: not restarted when they exit.
    private var stopping = Set<String>()
    private var exitWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// - Parameters:
    ///   - readiness: returns once the process is healthy (the broker answers, a service is
    ///     registered); called again until it does, within `readyTimeout`.
    ///   - report: told of every start, exit and stop.
    package init(
        plan: LaunchPlan,
        readyTimeout: Duration = .seconds(60),
        stopTimeout: Duration = .seconds(20),
        readiness: @escaping @Sendable (LaunchPlan.Process) async throws -> Void,
        report: @escaping @Sendable (LauncherEvent) -> Void
    ) {
        self.plan = plan
        self.readiness = readiness
        self.readyTimeout = readyTimeout
        self.stopTimeout = stopTimeout
        self.report = report
        self.state = RunState(
            launcherPID: getpid(),
            composePath: plan.composePath,
            startedUnixMs: Int64(Date().timeIntervalSince1970 * 1000),
            ready: false,
            stopping: false,
            processes: plan.processes.map { RunState.ProcessState(name: $0.name) }
        )
    }

    /// Runs the township until `requestStop()`, then stops it.
    /// - Throws: `LaunchError` when a process does not become healthy in time (the others are
    ///   stopped first).
    package func run() async throws {
        for directory in [plan.runDirectory, plan.dataDirectory, plan.logDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try saveState()
        var failure: LaunchError?
        await withTaskGroup(of: Void.self) { group in
            for process in plan.processes {
                if stopRequested { break }
                group.addTask { await self.supervise(process) }
                do {
                    try await waitUntilHealthy(process)
                    report(.healthy(name: process.name))
                } catch let error as LaunchError {
                    failure = error
                    break
                } catch {
                    break  // Stopped while starting.
                }
            }
            if failure == nil && !stopRequested {
                state.ready = true
                try? saveState()
                report(.ready)
                await withCheckedContinuation { stopWaiter = $0 }
            }
            await stopAll()
            // A process waiting out its backoff is not started again.
            group.cancelAll()
        }
        // The broker removes its socket when it stops; one it killed cannot.
        try? FileManager.default.removeItem(atPath: plan.brokerSocket)
        try? FileManager.default.removeItem(atPath: RunState.path(stateDirectory: plan.stateDirectory))
        if let failure { throw failure }
    }

    /// Stops the township (Ctrl-C, SIGTERM, `sanlian down`). Safe to call more than once.
    package func requestStop() {
        guard !stopRequested else { return }
        stopRequested = true
        state.stopping = true
        try? saveState()
        stopWaiter?.resume()
        stopWaiter = nil
    }

    // MARK: - One process

    /// Runs `process` until it is stopped, restarting it whenever it exits by itself.
    private func supervise(_ process: LaunchPlan.Process) async {
        var backoff: Duration = .milliseconds(500)
        while !stopping.contains(process.name) {
            let started = ContinuousClock.now
            let how: String
            do {
                how = try await Self.runOnce(process, plan: plan) { pid in await self.didStart(process.name, pid: pid) }
            } catch {
                how = "could not start: \(error)"
            }
            update(process.name) {
                $0.pid = nil
                $0.lastExit = how
            }
            for waiter in exitWaiters.removeValue(forKey: process.name) ?? [] { waiter.resume() }
            if stopping.contains(process.name) || stopRequested {
                update(process.name) { $0.state = .stopped }
                report(.stopped(name: process.name, how: how))
                return
            }
            if ContinuousClock.now - started >= .seconds(30) { backoff = .milliseconds(500) }
            var restarts = 0
            update(process.name) {
                $0.state = .restarting
                $0.restarts += 1
                restarts = $0.restarts
            }
            report(.exited(name: process.name, how: how, restartIn: backoff, restarts: restarts))
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return  // The township is stopping.
            }
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    private func didStart(_ name: String, pid: Int32) {
        var restarts = 0
        update(name) {
            $0.state = .starting
            $0.pid = pid
            $0.startedUnixMs = Int64(Date().timeIntervalSince1970 * 1000)
            restarts = $0.restarts
        }
        report(.started(name: name, pid: pid, restarts: restarts))
        // Started just as the township began to stop: it stops too.
        if stopping.contains(name) { kill(pid, SIGTERM) }
    }

    /// Starts `process` with its output appended to its log and a pipe for standard input that
    /// only this process holds open; returns how it ended.
    private static func runOnce(
        _ process: LaunchPlan.Process,
        plan: LaunchPlan,
        started: @escaping @Sendable (Int32) async -> Void
    ) async throws -> String {
        let log = process.logPath(in: plan)
        let output = try FileDescriptor.open(
            FilePath(log),
            .writeOnly,
            options: [.append, .create, .closeOnExec],
            permissions: [.ownerReadWrite, .groupRead]
        )
        let errors = try FileDescriptor.open(FilePath(log), .writeOnly, options: [.append, .closeOnExec])
        // Subprocess closes every other descriptor in the children it starts, so no other
        // process holds this pipe's write end; close-on-exec covers any other spawner.
        let lifeline: (readEnd: FileDescriptor, writeEnd: FileDescriptor)
        do {
            lifeline = try FileDescriptor.pipe()
        } catch {
            try? output.close()
            try? errors.close()
            throw error
        }
        _ = fcntl(lifeline.writeEnd.rawValue, F_SETFD, FD_CLOEXEC)
        defer { try? lifeline.writeEnd.close() }
        // A group of its own: Ctrl-C at the terminal (SIGINT to the foreground group) reaches the
        // launcher alone, which then stops the processes in order.
        var options = PlatformOptions()
        options.processGroupID = 0
        let result = try await Subprocess.run(
            .path(FilePath(process.executable)),
            arguments: Arguments(process.arguments),
            platformOptions: options,
            input: .fileDescriptor(lifeline.readEnd, closeAfterSpawningProcess: true),
            output: .fileDescriptor(output, closeAfterSpawningProcess: true),
            error: .fileDescriptor(errors, closeAfterSpawningProcess: true)
        ) { execution in
            await started(execution.processIdentifier.value)
        }
        switch result.terminationStatus {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }

    // MARK: - Health

    private func waitUntilHealthy(_ process: LaunchPlan.Process) async throws {
        let readiness = self.readiness
        let timeout = readyTimeout
        let healthy = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                while true {
                    try Task.checkCancellation()
                    if await self.stopRequested { throw CancellationError() }
                    if (try? await readiness(process)) != nil { return true }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        guard healthy else {
            let entry = state.processes.first { $0.name == process.name }
            let exits =
                (entry?.restarts ?? 0) > 0
                ? " (it exited \(entry!.restarts) times; last \(entry?.lastExit ?? "?"))" : ""
            throw LaunchError(
                "\(process.name) did not become healthy within \(timeout)\(exits); see \(process.logPath(in: plan))"
            )
        }
        update(process.name) { if $0.state == .starting { $0.state = .running } }
    }

    // MARK: - Stopping

    private func stopAll() async {
        stopRequested = true
        state.stopping = true
        for process in plan.processes.reversed() {
            stopping.insert(process.name)
            guard let pid = self.pid(of: process.name) else {
                update(process.name) { if $0.state != .stopped { $0.state = .stopped } }
                continue
            }
            update(process.name) { $0.state = .stopping }
            report(.stopping(name: process.name))
            kill(pid, SIGTERM)
            let timeout = stopTimeout
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await self.waitForExit(process.name)
                    return true
                }
                group.addTask {
                    do {
                        try await Task.sleep(for: timeout)
                        return false
                    } catch {
                        return true
                    }
                }
                // Not gone in time: killed, which the exit waiter then sees.
                if await group.next() == false, let running = self.pid(of: process.name) { kill(running, SIGKILL) }
                group.cancelAll()
            }
        }
    }

    private func waitForExit(_ name: String) async {
        guard pid(of: name) != nil else { return }
        await withCheckedContinuation { exitWaiters[name, default: []].append($0) }
    }

    // MARK: - State

    /// The pid of `name` while it runs.
    private func pid(of name: String) -> Int32? {
        state.processes.first { $0.name == name }?.pid
    }

    private func update(_ name: String, _ change: (inout RunState.ProcessState) -> Void) {
        guard let index = state.processes.firstIndex(where: { $0.name == name }) else { return }
        change(&state.processes[index])
        try? saveState()
    }

    private func saveState() throws {
        try state.write(stateDirectory: plan.stateDirectory)
    }
}
