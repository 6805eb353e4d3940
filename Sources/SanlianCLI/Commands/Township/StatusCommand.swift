import ArgumentParser
import Foundation
import SanlianContracts
import SanlianWire
import TownshipLauncher

/// `sanlian status`: each process of the township, from the launcher's state and the broker.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each process of the township: state, pid, uptime, restarts, health and outbox backlog.",
        discussion: """
            Exits 0 when the township is up and every process healthy, 1 when something is not, \
            3 when it is not running.
            """
    )

    @OptionGroup var township: TownshipOptions
    @Flag(help: "Print JSON.") var json = false

    struct Entry: Codable {
        var name: String
        var state: String
        var pid: Int32?
        var uptimeSeconds: Int64?
        var restarts: Int
        var health: String
        var outboxBacklog: Int?
        var lastExit: String?
    }

    func run() async throws {
        guard let state = try RunState.read(stateDirectory: township.stateDirectory), state.launcherIsAlive else {
            if json { return Output.json(codable: [Entry]()) }
            Console.current.line("not running (no launcher for \(township.stateDirectory); `sanlian up` starts it)")
            throw ExitCode(3)
        }
        let connection = try township.connection(composePath: state.composePath, timeout: 3)
        // What the broker knows: itself, and each service instance's latest report.
        let seen: (serving: Bool, instances: [String: BrokerV1.InstanceStatus])? = try? await BrokerSession.run(
            connection
        ) { session in
            let health = try await session.health.check(HealthV1.HealthCheckRequest())
            let services = try await session.broker.listServices(BrokerV1.ListServicesRequest())
            var instances: [String: BrokerV1.InstanceStatus] = [:]
            for service in services.services {
                for (index, name) in service.instanceNames.enumerated() {
                    instances[name] =
                        index < service.instanceStatus.count
                        ? service.instanceStatus[index] : BrokerV1.InstanceStatus(name: name)
                }
            }
            return (health.status == .serving, instances)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let entries = state.processes.map { process -> Entry in
            let health: String
            var backlog: Int?
            if process.name == "sanlian-broker" {
                health = seen == nil ? "unreachable" : seen!.serving ? "serving" : "not serving"
            } else if let instance = seen?.instances[process.name] {
                health = "registered"
                backlog = instance.detail.first { $0.key == "outbox.backlog" }.flatMap { Int($0.value) }
            } else {
                health = seen == nil ? "unknown" : "not registered"
            }
            return Entry(
                name: process.name,
                state: process.state.rawValue,
                pid: process.pid,
                uptimeSeconds: process.pid == nil ? nil : process.startedUnixMs.map { (now - $0) / 1000 },
                restarts: process.restarts,
                health: health,
                outboxBacklog: backlog,
                lastExit: process.lastExit
            )
        }
        if json {
            Output.json(codable: entries)
        } else {
            let phase = state.stopping ? "stopping" : state.ready ? "ready" : "starting"
            Console.current.line("township \(township.stateDirectory): launcher pid \(state.launcherPID), \(phase)")
            Output.table(
                [
                    Labels.text("进程", "PROCESS"), Labels.text("状态", "STATE"), "PID", Labels.text("运行", "UPTIME"),
                    Labels.text("重启", "RESTARTS"), Labels.text("健康", "HEALTH"), Labels.text("待发", "OUTBOX"),
                ],
                entries.map { entry -> [String] in
                    let pid = entry.pid.map { String($0) } ?? "-"
                    let uptime = entry.uptimeSeconds.map { Self.uptime($0) } ?? "-"
                    let backlog = entry.outboxBacklog.map { String($0) } ?? "-"
                    return [entry.name, entry.state, pid, uptime, String(entry.restarts), entry.health, backlog]
                }
            )
        }
        let healthy = entries.allSatisfy { $0.health == "serving" || $0.health == "registered" }
        if !healthy { throw ExitCode(1) }
    }

    static func uptime(_ seconds: Int64) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
        if seconds < 86400 { return "\(seconds / 3600)h\(seconds % 3600 / 60)m" }
        return "\(seconds / 86400)d\(seconds % 86400 / 3600)h"
    }
}

/// `sanlian down`: stops the township that `sanlian up` runs.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the township: every process in reverse order, then the launcher."
    )

    @OptionGroup var township: TownshipOptions
    @Option(help: ArgumentHelp("Seconds to wait for it to stop.", valueName: "seconds")) var timeout: Int = 60

    func run() async throws {
        guard let state = try RunState.read(stateDirectory: township.stateDirectory), state.launcherIsAlive else {
            Console.current.line("not running")
            return
        }
        kill(state.launcherPID, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(timeout)
        while processIsAlive(state.launcherPID) {
            guard ContinuousClock.now < deadline else {
                throw CLIError(
                    "the launcher (pid \(state.launcherPID)) did not stop within \(timeout) s; see \(township.stateDirectory)/log/sanlian-up.log"
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Console.current.line("stopped")
    }
}
