import ArgumentParser
import Foundation
package import SanlianCompose
import Yams

#if canImport(Glibc)
    import Glibc
#endif

/// How a command finds the township's broker and who it acts as. Each setting comes from its
/// option, else an environment variable, else the config file, else a default; so that `sanlian`
/// works from any directory once `SANLIAN_DIR` (as `NATS_URL` is for nats) or the config file
/// says where the township is.
package struct ConnectionOptions: ParsableArguments {
    @Option(
        name: [.customLong("dir"), .customLong("state-dir")],
        help: ArgumentHelp(
            "The township's state directory, where its sockets and secrets are.",
            discussion: "Default: $SANLIAN_DIR, else the config file's `dir`, else ./var.",
            valueName: "dir"
        )
    )
    var dir: String?

    @Option(
        help: ArgumentHelp(
            "The township's compose file.",
            discussion:
                "Default: $SANLIAN_COMPOSE, else the config file's `compose`, else the one the broker runs on (DIR/compose.yaml), else compose/township.yaml here.",
            valueName: "file"
        )
    )
    var compose: String?

    @Option(help: ArgumentHelp("The broker's socket (default: the compose file's, under DIR).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Department to act as (default: $SANLIAN_DEPARTMENT, else station).", valueName: "code"))
    var department: String?

    @Option(
        name: .customLong("operator"),
        help: ArgumentHelp(
            "The person acting, an operator of the compose file (default: $SANLIAN_OPERATOR, else the operator bound to this Unix user, else the department alone).",
            valueName: "id"
        )
    )
    var operatorID: String?

    @Option(
        help: ArgumentHelp(
            "The department's credential file (default: the compose file's, under DIR).",
            valueName: "file"
        )
    )
    var credentialFile: String?

    @Option(
        help: ArgumentHelp("Seconds to wait for an answer (and, with --wait, for the broker).", valueName: "seconds")
    )
    var timeout: Int = 10

    @Flag(help: "Wait for the broker to come up, until --timeout, instead of failing at once when it is not running.")
    var wait = false

    package init() {}

    /// Where the township is and who acts, every setting resolved.
    package struct Resolved: Sendable {
        package var stateDirectory: String
        package var composePath: String?
        package var socketPath: String
        package var department: String
        package var operatorID: String
        /// nil for an operator bound to this Unix user: the kernel's word is the credential.
        package var credentialPath: String?
        package var timeout: Duration
        package var wait: Bool
        /// The township's compose file, when one was found.
        package var compose: ComposeFile?
    }

    /// - Throws: `CLIError` naming what cannot be found or read.
    package func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolved {
        let config = try ConfigFile.load(environment: environment)
        let stateDirectory = dir ?? environment["SANLIAN_DIR"] ?? config.dir ?? "var"
        var composePath = compose ?? environment["SANLIAN_COMPOSE"] ?? config.compose
        if composePath == nil {
            let recorded = (stateDirectory as NSString).appendingPathComponent("compose.yaml")
            if FileManager.default.fileExists(atPath: recorded) {
                composePath = recorded
            } else if FileManager.default.fileExists(atPath: "compose/township.yaml") {
                composePath = "compose/township.yaml"
            }
        }
        let file: ComposeFile?
        do {
            file = try composePath.map { try ComposeFile.load(path: $0) }
        } catch {
            throw CLIError("\(error)")
        }
        // The person acting: as told, else the operator the compose file binds to this Unix user.
        let uid = getuid()
        let operatorID =
            operatorID ?? environment["SANLIAN_OPERATOR"] ?? config.operatorID
            ?? file?.operators.values.first(where: { $0.uid == uid })?.id ?? ""
        let person = file?.operators[operatorID]
        if let file, !operatorID.isEmpty, person == nil {
            throw CLIError(
                "--operator: \(operatorID) is not an operator of \(composePath ?? "the compose file") (it has \(file.operators.keys.sorted().joined(separator: ", ")))"
            )
        }
        let department =
            department ?? environment["SANLIAN_DEPARTMENT"] ?? person?.department ?? config.department ?? "station"
        if let person, person.department != department {
            throw CLIError("--department: operator \(operatorID) belongs to \(person.department), not \(department)")
        }
        var socketPath = ComposeFile.resolve("run/broker.sock", stateDirectory: stateDirectory)
        var credentialPath: String? = ComposeFile.resolve(
            operatorID.isEmpty ? "secrets/\(department).secret" : "secrets/operators/\(operatorID).secret",
            stateDirectory: stateDirectory
        )
        if let file {
            socketPath = ComposeFile.resolve(file.broker.socket, stateDirectory: stateDirectory)
            guard let settings = file.departments[department] else {
                throw CLIError(
                    "--department: \(department) is not a department of \(composePath ?? "the compose file") (it has \(file.departments.keys.sorted().joined(separator: ", ")))"
                )
            }
            if let person {
                credentialPath = person.credentialFile.map { ComposeFile.resolve($0, stateDirectory: stateDirectory) }
            } else {
                credentialPath = ComposeFile.resolve(settings.credentialFile, stateDirectory: stateDirectory)
            }
        }
        guard timeout > 0 else { throw CLIError("--timeout: must be a positive number of seconds, got \(timeout)") }
        return Resolved(
            stateDirectory: stateDirectory,
            composePath: composePath,
            socketPath: socket ?? socketPath,
            department: department,
            operatorID: operatorID,
            credentialPath: credentialFile ?? credentialPath,
            timeout: .seconds(timeout),
            wait: wait,
            compose: file
        )
    }
}

/// The config file (`$SANLIAN_CONFIG`, else `$XDG_CONFIG_HOME/sanlian/config.yaml`, else
/// `~/.config/sanlian/config.yaml`): YAML with any of `dir`, `compose`, `department` and
/// `operator`; relative paths are relative to the file's directory.
struct ConfigFile: Decodable {
    var dir: String?
    var compose: String?
    var department: String?
    var operatorID: String?

    enum CodingKeys: String, CodingKey {
        case dir, compose, department
        case operatorID = "operator"
    }

    static func load(environment: [String: String]) throws -> ConfigFile {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let path =
            environment["SANLIAN_CONFIG"]
            ?? ((environment["XDG_CONFIG_HOME"] ?? (home as NSString).appendingPathComponent(".config"))
            as NSString).appendingPathComponent("sanlian/config.yaml")
        guard let data = FileManager.default.contents(atPath: path) else {
            if environment["SANLIAN_CONFIG"] != nil { throw CLIError("cannot read the config file \(path)") }
            return ConfigFile()
        }
        var config: ConfigFile
        do {
            config = try YAMLDecoder().decode(ConfigFile.self, from: String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError("\(path): not a config file of dir, compose, department and operator: \(error)")
        }
        let base = (path as NSString).deletingLastPathComponent
        func anchored(_ value: String?) -> String? {
            guard let value, !value.hasPrefix("/") else { return value }
            return (base as NSString).appendingPathComponent(value)
        }
        config.dir = anchored(config.dir)
        config.compose = anchored(config.compose)
        return config
    }

    init() {}
}
