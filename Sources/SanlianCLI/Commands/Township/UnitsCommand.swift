import ArgumentParser
import Foundation
import TownshipLauncher

/// `sanlian units`: systemd unit files for running the township on a server.
struct UnitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "units",
        abstract: "Write systemd unit files for the township: one per process, each as its department's user.",
        discussion: """
            One .service per process (the broker, then each service of the compose file, ordered \
            by its after:) and sanlian.target for all of them. Each department's process runs as \
            that department's Unix user: the uid the compose file binds to it (departments.X.uid), \
            else a user named sanlian-DEPARTMENT that you create (useradd --system). The broker runs \
            as the station's. Then: copy them to /etc/systemd/system, systemctl daemon-reload, \
            systemctl enable --now sanlian.target (README, "On a server").
            """
    )

    @OptionGroup var township: TownshipOptions
    @Option(help: ArgumentHelp("Where the executables are installed.", valueName: "dir")) var binDir: String =
        "/usr/local/bin"
    @Option(help: ArgumentHelp("Where to write the units.", valueName: "dir")) var output: String = "."

    func run() async throws {
        let (composePath, compose) = try township.compose()
        let plan = LaunchPlan(
            compose: compose,
            composePath: composePath,
            stateDirectory: township.stateDirectory,
            binDirectory: binDir
        )
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for unit in SystemdUnits.units(plan: plan, compose: compose) {
            let path = (output as NSString).appendingPathComponent(unit.name)
            try unit.text.write(toFile: path, atomically: true, encoding: .utf8)
            Console.current.line("wrote \(path)")
        }
        let users = Set(plan.processes.map { SystemdUnits.user(of: $0, compose: compose) })
            .filter { Int($0) == nil }.sorted()
        if !users.isEmpty {
            Console.current.note(
                "create the users the compose file binds no uid to: "
                    + users.map { "useradd --system \($0)" }.joined(separator: "; ")
            )
        }
    }
}
