import AlertLedger
import ArgumentParser
import BrokerCore
import Foundation
import Logging
import SanlianCompose
import SanlianRPC
import ServiceLifecycle
import ServiceSupport
import UnixSignals

/// sanlian-broker: authenticates every department's processes, routes their calls, carries
/// publish/subscribe and keeps the durable alert ledger. SIGTERM drains calls and exits 0.
struct SanlianBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanlian-broker",
        abstract: "Run the Sanlian broker for the township described by a compose file.",
        discussion: """
            Relative paths in the compose file (socket, ledger, credential files) are resolved \
            against --state-dir. Missing department secrets are created (mode 0600) on first start; \
            the broker refuses to start if a secret can be read by group or others.
            """
    )

    @Option(name: .long, help: "The township's compose file.")
    var compose: String = "compose/township.yaml"

    @Option(name: .long, help: "Directory for sockets, databases and secrets.")
    var stateDir: String = "var"

    @Option(name: .long, help: "Listen on this socket instead of the compose file's broker.socket.")
    var socket: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @OptionGroup var lifeline: StandardInputLifeline.Options

    func run() async throws {
        // Start-up runs in phases whose code mostly does not run again: loading and parsing the
        // arguments, reading the compose file's YAML, opening the ledger (its migrations), binding
        // the socket. Their pages are released as each ends (`StartupCodeRelease`), so that the
        // peak is the largest phase's, not all of them together: ~19 MiB → ~14.5 MiB.
        let logger = LoggingSetup.bootstrap(label: "sanlian-broker", level: logLevel)
        StartupCodeRelease.releaseNow(logger: logger)
        let broker: Broker
        do {
            let file = try ComposeFile.load(path: compose)
            StartupCodeRelease.releaseNow(logger: logger)
            broker = try Broker(compose: file, stateDirectory: stateDir, socketOverride: socket, logger: logger)
        } catch {
            logger.error("Cannot start", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("sanlian-broker: \(error)\n".utf8))
            throw ExitCode(1)
        }
        recordComposeFile(logger: logger)
        logger.info(
            "Starting",
            metadata: [
                "socket.path": "\(broker.socketPath)", "db.path": "\(broker.ledger.path)", "compose": "\(compose)",
            ]
        )
        StartupCodeRelease.releaseNow(logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: broker.services.map { .init(service: $0) } + [
                    StartupCodeRelease(
                        after: { [server = broker.server] in try await server.waitUntilListening() },
                        logger: logger
                    ).groupEntry
                ] + lifeline.groupEntries(logger: logger),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.error("Stopped with an error", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("sanlian-broker: \(error)\n".utf8))
            throw ExitCode(1)
        }
        logger.info("Exited cleanly")
    }

    /// Links `compose.yaml` in the state directory to the compose file the broker runs on, so
    /// that `sanlian --dir DIR` finds the township's settings from any directory.
    private func recordComposeFile(logger: Logger) {
        let link = (stateDir as NSString).appendingPathComponent("compose.yaml")
        let target = URL(fileURLWithPath: compose).standardizedFileURL.path
        // The compose file may itself live there: never replace a file with a link to itself.
        if URL(fileURLWithPath: link).standardizedFileURL.path == target { return }
        if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: link) {
            if existing == target { return }
            try? FileManager.default.removeItem(atPath: link)
        } else if FileManager.default.fileExists(atPath: link) {
            logger.warning(
                "A file other than the compose file is in the way of its link in the state directory",
                metadata: ["path": "\(link)"]
            )
            return
        }
        do {
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        } catch {
            logger.warning("Cannot link the compose file into the state directory", metadata: ["error": "\(error)"])
        }
    }
}
