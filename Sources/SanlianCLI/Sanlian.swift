package import ArgumentParser
import SanlianWire

/// sanlian: the command-line tool for every human operation on a township. One file or folder
/// per command group under `Commands/`; connection options in `Connection/`; tables, JSON,
/// labels and colours in `Output/`.
package struct Sanlian: AsyncParsableCommand {
    package static let version = "0.4.0"

    package static let configuration = CommandConfiguration(
        commandName: "sanlian",
        abstract: "Operate a Sanlian township: health, services, alerts and the command room's live feed.",
        discussion: """
            Every command connects to the township's broker as a department, with that department's \
            credential file. Say where the township is with --dir (or SANLIAN_DIR, or `dir:` in \
            ~/.config/sanlian/config.yaml); by default ./var. Examples:

              sanlian health
              sanlian services
              sanlian alert publish --department traffic --id t-1 --subject alert.hazards.traffic \\
                  --headline "G318 道路塌方" --severity severe --village 511681104201
              sanlian alert list
              sanlian alert ack road:G318
              sanlian watch
            """,
        version: version,
        subcommands: [
            HealthCommand.self, ServicesCommand.self, AlertCommand.self, WatchCommand.self, LedgerCommand.self,
            DeadLettersCommand.self, PatrolCommand.self, HazardsCommand.self, DisputesCommand.self,
            ResidentsCommand.self, TasksCommand.self, IncidentsCommand.self, ReportCommand.self, UpCommand.self,
            StatusCommand.self, DownCommand.self, LogsCommand.self, UnitsCommand.self,
        ]
    )

    package init() {}

    /// Parses the process's arguments, runs the command, and exits with its status. (The
    /// subcommands are async; `main()` called from top-level code reaches the synchronous one.)
    package static func runAsProcess() async -> Never {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit()
        } catch {
            exit(withError: error)
        }
    }

    /// Runs `arguments` as the command line, in this process, with its output captured: for tests.
    /// - Returns: the exit status, and what went to standard output and standard error.
    package static func run(_ arguments: [String]) async -> (status: Int32, output: String, error: String) {
        let console = Console.capturing()
        let status: Int32 = await Console.$current.withValue(console) {
            do {
                var command = try parseAsRoot(arguments)
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
                return 0
            } catch {
                let code = exitCode(for: error)
                let message = fullMessage(for: error)
                if !message.isEmpty {
                    if code == .success {
                        console.line(message)
                    } else {
                        console.note(message)
                    }
                }
                return code.rawValue
            }
        }
        return (status, console.output, console.errorOutput)
    }
}

/// Enum options parse through the generated enums: by their short names ("severe",
/// "production_safety"), the unspecified value left out.
protocol ShortNamedArgument: WireEnum, ExpressibleByArgument {}

extension ShortNamedArgument {
    init?(argument: String) {
        guard let value = Self.knownCases.first(where: { $0.shortName == argument.lowercased() && $0.rawValue != 0 })
        else { return nil }
        self = value
    }

    static var allValueStrings: [String] { knownCases.filter { $0.rawValue != 0 }.map(\.shortName) }
}

extension AlertV1.Severity: ShortNamedArgument {}
extension AlertV1.Category: ShortNamedArgument {}
extension AlertV1.AggregateState: ShortNamedArgument {}
