import ArgumentParser
import BrokerClient
import Foundation
import Logging
import NIOCore
import SanlianCompose
import SanlianRPC
import SanlianWire

/// How a command reaches the broker and who it acts as.
struct BrokerOptions: ParsableArguments {
    @Option(name: .long, help: "The township's compose file.")
    var compose: String = "compose/township.yaml"

    @Option(name: .long, help: "The township's state directory (sockets, secrets).")
    var stateDir: String = "var"

    @Option(name: .long, help: "Broker socket (default: the compose file's broker.socket under --state-dir).")
    var socket: String?

    @Option(name: .long, help: "Department to act as.")
    var department: String = "station"

    @Option(name: .long, help: "Operator name or badge number, recorded by the broker.")
    var `operator`: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

    @Option(name: .long, help: "The department's credential file (default: from the compose file).")
    var credentialFile: String?

    @Option(name: .long, help: "Seconds to wait for an answer.")
    var timeout: Int = 10

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    /// Connects, runs `body`, disconnects. Errors come out as one clear line and exit code 1.
    func withClient<T: Sendable>(_ body: @Sendable (RPCClient, CallOptions) async throws -> T) async throws -> T {
        let compose: ComposeFile
        do {
            compose = try ComposeFile.load(path: self.compose)
        } catch {
            throw CLIError("\(error)")
        }
        let socketPath = socket ?? ComposeFile.resolve(compose.broker.socket, stateDirectory: stateDir)
        guard let departmentSettings = compose.departments[department] else {
            throw CLIError(
                "unknown department \(department); the compose file has \(compose.departments.keys.sorted().joined(separator: ", "))"
            )
        }
        let credentialPath =
            credentialFile ?? ComposeFile.resolve(departmentSettings.credentialFile, stateDirectory: stateDir)
        let identity: IdentityClaim
        do {
            identity = try BrokerIdentity.load(
                department: department,
                operatorID: `operator`,
                credentialFile: credentialPath,
                clientName: "sanlian-cli"
            )
        } catch {
            throw CLIError("\(error) (has the broker been started once? `make run`)")
        }
        var configuration = ClientConfiguration(socketPath: socketPath, identity: identity)
        configuration.maxBackoff = .milliseconds(500)
        let client = RPCClient(
            configuration: configuration,
            logger: Logger(label: "sanlian", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let options = CallOptions(timeout: .seconds(Int64(timeout)), waitForReady: true)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer {
                client.stop()
                group.cancelAll()
            }
            do {
                return try await body(client, options)
            } catch let error as RPCError {
                throw CLIError("\(error.code.protoName): \(error.message)")
            }
        }
    }
}

/// A failure shown to the user as one line on standard error.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Prints rows as an aligned text table.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in
        ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(displayWidth).max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1
                ? cell : cell + String(repeating: " ", count: widths[index] - displayWidth(cell) + 2)
        }.joined()
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

/// Terminal columns: CJK characters take two.
func displayWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { width, scalar in
        width
            + ((0x1100...0x115F).contains(scalar.value) || (0x2E80...0xA4CF).contains(scalar.value)
                || (0xAC00...0xD7A3).contains(scalar.value) || (0xF900...0xFAFF).contains(scalar.value)
                || (0xFF00...0xFF60).contains(scalar.value) ? 2 : 1)
    }
}

func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]),
        let text = String(data: data, encoding: .utf8)
    {
        print(text)
    }
}

func formatTime(_ unixMs: Int64) -> String {
    guard unixMs > 0 else { return "-" }
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(unixMs) / 1000))
}
