import ArgumentParser
import Foundation
import SanlianCompose

/// Where a township is, as `up`, `status`, `down` and `logs` take it: the compose file and the
/// state directory.
struct TownshipOptions: ParsableArguments {
    @Option(
        name: [.customShort("f"), .customLong("file"), .customLong("compose")],
        help: ArgumentHelp(
            "The compose file.",
            discussion:
                "Default: $SANLIAN_COMPOSE, else compose/township.yaml here, else the one the township in DIR runs on.",
            valueName: "file"
        )
    )
    var file: String?

    @Option(
        name: [.customLong("dir"), .customLong("state-dir")],
        help: ArgumentHelp(
            "The state directory: sockets in DIR/run, databases in DIR/data, logs in DIR/log.",
            discussion: "Default: $SANLIAN_DIR, else ./var.",
            valueName: "dir"
        )
    )
    var dir: String?

    var stateDirectory: String {
        dir ?? ProcessInfo.processInfo.environment["SANLIAN_DIR"] ?? "var"
    }

    /// The compose file's path and contents.
    /// - Throws: `CLIError` when there is none or it is invalid.
    func compose() throws -> (path: String, file: ComposeFile) {
        let candidates = [
            file, ProcessInfo.processInfo.environment["SANLIAN_COMPOSE"], "compose/township.yaml",
            stateDirectory + "/compose.yaml",
        ]
        guard let path = candidates.compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0) })
        else {
            if let file { throw CLIError("-f: no file \(file)") }
            throw CLIError("no compose file: give one with -f FILE (the default is compose/township.yaml)")
        }
        do {
            return (path, try ComposeFile.load(path: path))
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// Connection options for the station acting on this township (for health and status).
    func connection(composePath: String?, timeout: Int = 5) throws -> ConnectionOptions {
        let arguments =
            ["--dir", stateDirectory, "--department", "station", "--operator", "", "--timeout", String(timeout)]
            + (composePath.map { ["--compose", $0] } ?? [])
        return try ConnectionOptions.parse(arguments)
    }
}
