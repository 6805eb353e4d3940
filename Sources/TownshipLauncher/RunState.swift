import Foundation

/// What the launcher of a township is doing, in `DIR/run/township.json`: written by `sanlian up`
/// whenever a process starts, exits or is restarted; read by `sanlian status` and `sanlian down`.
package struct RunState: Codable, Sendable, Equatable {
    package var launcherPID: Int32
    package var composePath: String
    package var startedUnixMs: Int64
    /// Every process has started and is healthy (it may have been restarted since).
    package var ready: Bool
    package var stopping: Bool
    package var processes: [ProcessState]

    package init(
        launcherPID: Int32,
        composePath: String,
        startedUnixMs: Int64,
        ready: Bool,
        stopping: Bool,
        processes: [ProcessState]
    ) {
        self.launcherPID = launcherPID
        self.composePath = composePath
        self.startedUnixMs = startedUnixMs
        self.ready = ready
        self.stopping = stopping
        self.processes = processes
    }

    package struct ProcessState: Codable, Sendable, Equatable {
        package var name: String
        package var state: State
        /// While it runs.
        package var pid: Int32?
        /// When it last started.
        package var startedUnixMs: Int64?
        package var restarts: Int
        /// How it last ended, e.g. "exited with status 1", "killed by signal 9".
        package var lastExit: String?

        package enum State: String, Codable, Sendable {
            case waiting, starting, running, restarting, stopping, stopped
        }

        package init(name: String) {
            self.name = name
            self.state = .waiting
            self.restarts = 0
        }
    }

    package static func path(stateDirectory: String) -> String { stateDirectory + "/run/township.json" }

    /// Reads the state of the township in `stateDirectory`; nil when no launcher wrote one.
    /// - Throws: when the file is there but cannot be read.
    package static func read(stateDirectory: String) throws -> RunState? {
        let path = path(stateDirectory: stateDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try JSONDecoder().decode(RunState.self, from: data)
    }

    /// Replaces the file whole (written aside and renamed), so that a reader never sees half.
    package func write(stateDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(
            to: URL(fileURLWithPath: Self.path(stateDirectory: stateDirectory)),
            options: .atomic
        )
    }

    /// Whether the launcher that wrote this is still running.
    package var launcherIsAlive: Bool { processIsAlive(launcherPID) }
}

/// Whether a process with `pid` exists and is not a zombie.
package func processIsAlive(_ pid: Int32) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let state = stat.split(separator: ")").last?.split(separator: " ").first
    else { return true }
    return state != "Z" && state != "X"
}
