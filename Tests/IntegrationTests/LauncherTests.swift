import Foundation
import PatrolContract
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Subprocess
import Testing
import TownshipLauncher

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// `sanlian up`, `status`, `down` over the real executables: the whole township started,
/// supervised and stopped.
@Suite("sanlian up: the township started, supervised and stopped", .timeLimit(.minutes(3)))
struct LauncherTests {
    static var binDirectory: String {
        get throws { (try Harness.executable("sanlian") as NSString).deletingLastPathComponent }
    }

    static func sanlian(_ arguments: [String]) async throws -> (
        status: TerminationStatus, output: String, error: String
    ) {
        let result = try await Subprocess.run(
            .path(FilePath(try Harness.executable("sanlian"))),
            arguments: Arguments(arguments),
            environment: Harness.processEnvironment,
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20)
        )
        return (result.terminationStatus, result.standardOutput, result.standardError)
    }

    static func upArguments(_ township: Township) throws -> [String] {
        ["-f", township.composePath, "--dir", township.stateDirectory, "--bin-dir", try binDirectory]
    }

    /// The pids of the township's processes as the launcher recorded them.
    static func processIDs(_ township: Township) throws -> [String: Int32] {
        let state = try #require(try RunState.read(stateDirectory: township.stateDirectory))
        return Dictionary(uniqueKeysWithValues: state.processes.compactMap { p in p.pid.map { (p.name, $0) } })
    }

    static func leftovers(_ township: Township) -> [String] {
        let run = township.stateDirectory + "/run"
        return ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).sorted()
    }

    @Test(
        "up starts every process in order and says where things are; a killed service comes back and answers again; SIGTERM leaves no process and no socket"
    )
    func upSupervisesAndStops() async throws {
        let township = try Township()
        let lines = Locked<[String]>([])
        let result = try await Subprocess.run(
            .path(FilePath(try Harness.executable("sanlian"))),
            arguments: Arguments(["up"] + (try Self.upArguments(township))),
            environment: Harness.processEnvironment,
            input: .none,
            output: .sequence,
            error: .discarded
        ) { execution -> [String: Int32] in
            try await withThrowingTaskGroup(of: [String: Int32]?.self) { group in
                group.addTask {
                    for try await line in execution.standardOutput.strings() {
                        lines.withLock { $0.append(line.trimmingCharacters(in: .newlines)) }
                    }
                    return nil
                }
                group.addTask {
                    try await eventually("the ready line", timeout: .seconds(60)) {
                        lines.value.contains { $0.contains("ready: 5 processes") }
                    }
                    let ready = try #require(lines.value.first { $0.contains("ready:") })
                    #expect(ready.contains(township.stateDirectory + "/run") && ready.contains("/data"), "\(ready)")
                    let started = lines.value.filter { $0.contains(" started (pid") }.map {
                        $0.split(separator: " ")[2]
                    }
                    #expect(
                        started == [
                            "sanlian-broker", "sanlian-residents", "sanlian-hazards", "sanlian-patrol",
                            "sanlian-station",
                        ]
                    )

                    let status = try await Self.sanlian(["status", "--json", "--dir", township.stateDirectory])
                    #expect(status.status == .exited(0), "\(status.output) \(status.error)")
                    #expect(status.output.components(separatedBy: "\"health\":\"registered\"").count == 5)

                    // A service killed mid-calls: the callers hear UNAVAILABLE, the launcher brings it back.
                    let before = try Self.processIDs(township)
                    let patrol = try #require(before["sanlian-patrol"])
                    try await township.withClient("governance") { client in
                        let roster = PatrolV1.RosterClient(client, options: CallOptions(timeout: .seconds(5)))
                        _ = try await roster.listTeams(PatrolV1.ListTeamsRequest())
                        kill(patrol, SIGKILL)
                        try await eventually("a call refused while sanlian-patrol is down") {
                            do {
                                _ = try await roster.listTeams(PatrolV1.ListTeamsRequest())
                                return false
                            } catch let error as RPCError {
                                return error.code == .unavailable
                            }
                        }
                        try await eventually("the launcher to restart sanlian-patrol") {
                            lines.value.contains { $0.contains("sanlian-patrol restarted") }
                        }
                        try await eventually("sanlian-patrol to answer again") {
                            _ = try await roster.listTeams(PatrolV1.ListTeamsRequest())
                            return true
                        }
                    }
                    let exit = try #require(lines.value.first { $0.contains("sanlian-patrol killed by signal 9") })
                    #expect(exit.contains("restarting in 0.5 s (restart 1)"), "\(exit)")
                    let after = try Self.processIDs(township)
                    try execution.send(signal: .terminate)
                    return before.merging(after) { first, _ in first }.merging(
                        ["sanlian-patrol (again)": after["sanlian-patrol"] ?? 0]
                    ) { first, _ in first }
                }
                var pids: [String: Int32] = [:]
                for try await result in group { if let result { pids = result } }
                return pids
            }
        }
        #expect(result.terminationStatus == .exited(0))
        for (name, pid) in result.closureResult {
            #expect(!processIsAlive(pid), "\(name) (pid \(pid)) outlived the launcher")
        }
        #expect(Self.leftovers(township).isEmpty, "left in DIR/run: \(Self.leftovers(township))")
        let stops = lines.value.filter { $0.contains(" stopped (") }.map { $0.split(separator: " ")[2] }
        #expect(
            stops == ["sanlian-station", "sanlian-patrol", "sanlian-hazards", "sanlian-residents", "sanlian-broker"],
            "\(lines.value)"
        )
    }

    @Test("up -d returns once ready; a second up refuses; status shows each process; down leaves nothing behind")
    func backgroundAndDown() async throws {
        let township = try Township()
        let up = try await Self.sanlian(["up", "-d"] + (try Self.upArguments(township)))
        #expect(up.status == .exited(0), "\(up.output) \(up.error)")
        #expect(up.output.contains("ready: 5 processes"), "\(up.output)")
        let pids = try Self.processIDs(township)
        let again = try await Self.sanlian(["up", "-d"] + (try Self.upArguments(township)))
        #expect(again.status == .exited(1))
        #expect(again.error.contains("already up"), "\(again.error)")
        let status = try await Self.sanlian(["status", "--dir", township.stateDirectory])
        #expect(status.status == .exited(0), "\(status.output) \(status.error)")
        for name in ["sanlian-broker", "sanlian-residents", "sanlian-hazards", "sanlian-patrol", "sanlian-station"] {
            #expect(status.output.contains(name), "\(status.output)")
        }
        let logs = try await Self.sanlian(["logs", "sanlian-patrol", "--dir", township.stateDirectory])
        #expect(logs.output.contains("sanlian-patrol | "), "\(logs.output)")
        #expect(!logs.output.contains("sanlian-broker | "))

        let down = try await Self.sanlian(["down", "--dir", township.stateDirectory])
        #expect(down.status == .exited(0), "\(down.error)")
        for (name, pid) in pids { #expect(!processIsAlive(pid), "\(name) (pid \(pid)) still runs") }
        #expect(Self.leftovers(township).isEmpty, "left in DIR/run: \(Self.leftovers(township))")
        let stopped = try await Self.sanlian(["status", "--dir", township.stateDirectory])
        #expect(stopped.status == .exited(3))
        #expect(stopped.output.contains("not running"))
    }

    @Test("a service that cannot start: up fails naming it, how it exited and its log, and leaves nothing running")
    func serviceThatCannotStart() async throws {
        let township = try Township(compose: {
            $0.replacingOccurrences(of: "  lapse_months: 6", with: "  lapse_months: many")
        })
        let up = try await Self.sanlian(["up", "--ready-timeout", "3"] + (try Self.upArguments(township)))
        #expect(up.status == .exited(1))
        #expect(up.error.contains("sanlian-residents did not become healthy within 3"), "\(up.error)")
        #expect(
            up.error.contains("exited with status 1") && up.error.contains("log/sanlian-residents.log"),
            "\(up.error)"
        )
        #expect(
            up.output.contains("sanlian-residents exited with status 1; restarting in 0.5 s (restart 1)"),
            "\(up.output)"
        )
        #expect(!up.output.contains("sanlian-hazards started"), "nothing after the one that did not start")
        let log = try String(contentsOfFile: township.stateDirectory + "/log/sanlian-residents.log", encoding: .utf8)
        #expect(log.contains("lapse_months"), "the service says what is wrong with its settings: \(log)")
        #expect(Self.leftovers(township).isEmpty, "left in DIR/run: \(Self.leftovers(township))")
    }

    @Test("a launcher killed outright takes its processes with it (their standard input closes)")
    func killedLauncher() async throws {
        let township = try Township()
        let up = try await Self.sanlian(["up", "-d"] + (try Self.upArguments(township)))
        #expect(up.status == .exited(0), "\(up.output) \(up.error)")
        let state = try #require(try RunState.read(stateDirectory: township.stateDirectory))
        let pids = try Self.processIDs(township)
        kill(state.launcherPID, SIGKILL)
        try await eventually("every process to exit") { pids.values.allSatisfy { !processIsAlive($0) } }
    }
}
