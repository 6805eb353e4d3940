import ArgumentParser
import Foundation
import TownshipLauncher

/// `sanlian logs`: the township's logs, each line prefixed by its process.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the township's logs (DIR/log), each line prefixed by its process.",
        discussion: """
            Lines of all processes are merged in the order of their timestamps. Name processes to \
            see only theirs (sanlian-broker, sanlian-patrol, …; sanlian-up is the launcher). With \
            -f, the last --tail lines and then each new line as it is written, until Ctrl-C.
            """
    )

    @Argument(help: "Processes to show (default: all).") var processes: [String] = []
    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep showing lines as they are written.")
    var follow = false
    @Option(help: ArgumentHelp("Show only the last N lines (default: all; with -f, 20).", valueName: "n"))
    var tail: Int?
    @Option(
        name: [.customLong("dir"), .customLong("state-dir")],
        help: ArgumentHelp("The state directory (default: $SANLIAN_DIR, else ./var).", valueName: "dir")
    )
    var dir: String?

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail: 0 or more") }
    }

    func run() async throws {
        let logDirectory = (dir ?? ProcessInfo.processInfo.environment["SANLIAN_DIR"] ?? "var") + "/log"
        let available = ((try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? [])
            .filter { $0.hasSuffix(".log") }.map { String($0.dropLast(4)) }.sorted()
        guard !available.isEmpty else { throw CLIError("no logs in \(logDirectory) (has the township run there?)") }
        for name in processes where !available.contains(name) {
            throw CLIError("no log of \(name) in \(logDirectory) (there are: \(available.joined(separator: ", ")))")
        }
        let names = processes.isEmpty ? available : processes
        let width = names.map(\.count).max() ?? 0
        var readers = names.map { LogReader(name: $0, path: logDirectory + "/\($0).log") }
        var logs: [(name: String, lines: [Substring])] = []
        for index in readers.indices { logs.append((readers[index].name, readers[index].newLines())) }
        let ordered = LogReader.merged(logs)
        let shown = (tail ?? (follow ? 20 : nil)).map { ordered.suffix($0) } ?? ordered[...]
        let console = Console.current
        func prefixed(_ name: String, _ text: Substring) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0) + " | " + text
        }
        for line in shown { console.line(prefixed(line.name, line.text)) }
        guard follow else { return }
        while !Task.isCancelled {
            for index in readers.indices {
                for line in readers[index].newLines() { console.line(prefixed(readers[index].name, line)) }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
