import Foundation
package import Logging
import NIOCore
package import SanlianRPC
import SanlianWire
import Synchronization

/// A township under test: its own short temporary directory (socket paths stay far below 108
/// bytes; tests run in parallel without sharing anything) holding a copy of the compose file,
/// the state directory, and the processes' logs.
package final class Township: Sendable {
    private let directory: TemporaryDirectory
    package var root: String { directory.path }
    package let composePath: String
    package var stateDirectory: String { root + "/var" }
    package var brokerSocket: String { stateDirectory + "/run/broker.sock" }
    package var ledgerPath: String { stateDirectory + "/data/broker-ledger.sqlite" }

    /// - Parameter edit: changes to the default compose file's text (e.g. shorter escalation times).
    package init(compose edit: (String) -> String = { $0 }) throws {
        directory = try TemporaryDirectory()
        composePath = directory.path + "/township.yaml"
        let original = try String(contentsOfFile: Self.repositoryRoot + "/compose/township.yaml", encoding: .utf8)
        try edit(original).write(toFile: composePath, atomically: true, encoding: .utf8)
    }

    /// The repository this test run was built from.
    package static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    package func credentialFile(_ department: String) -> String {
        stateDirectory + "/secrets/\(department).secret"
    }

    /// The credential file of operator `id` (authenticated by a file of their own).
    package func operatorCredentialFile(_ id: String) -> String {
        stateDirectory + "/secrets/operators/\(id).secret"
    }

    /// The claim a process of `department` presents (the broker must have created the secrets):
    /// the department alone, or, with `operatorID`, that operator of it, with the operator's own
    /// credential.
    package func identity(_ department: String, operatorID: String = "") throws -> IdentityClaim {
        try IdentityClaim.load(
            department: department,
            operatorID: operatorID,
            credentialFile: operatorID.isEmpty ? credentialFile(department) : operatorCredentialFile(operatorID),
            clientName: "integration-test"
        )
    }

    /// Runs a client of the broker as `department` (and, with `operatorID`, as that operator of
    /// it) for the duration of `body`, connected first.
    package func withClient<T: Sendable>(
        _ department: String,
        operatorID: String = "",
        identity: IdentityClaim? = nil,
        configure: (inout ClientConfiguration) -> Void = { _ in },
        _ body: @Sendable (RPCClient) async throws -> T
    ) async throws -> T {
        let claim = try identity ?? self.identity(department, operatorID: operatorID)
        var configuration = ClientConfiguration(socketPath: brokerSocket, identity: claim)
        configuration.initialBackoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(200)
        configure(&configuration)
        let client = RPCClient(configuration: configuration, logger: harnessLogger("client"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await client.run() }
            defer {
                client.stop()
                tasks.cancelAll()
            }
            _ = try await client.connection(waitForReady: true, deadline: .now + .seconds(20))
            return try await body(client)
        }
    }
}

package struct HarnessError: Error, CustomStringConvertible {
    package var description: String

    package init(_ description: String) {
        self.description = description
    }
}

/// Quiet unless SANLIAN_TEST_LOGS is set.
package func harnessLogger(_ label: String) -> Logger {
    if ProcessInfo.processInfo.environment["SANLIAN_TEST_LOGS"] != nil {
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .debug
        return logger
    }
    return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
}

/// Waits for `condition` with a deadline, checking every few milliseconds: for state that has no
/// event to wait on (a process's effect seen from outside).
package func eventually(
    _ what: String,
    timeout: Duration = .seconds(20),
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw HarnessError("timed out after \(timeout) waiting for \(what)")
}

/// Shared mutable test state that closures and tasks can capture.
package final class Locked<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    package init(_ value: Value) {
        storage = Mutex(value)
    }

    package func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
        storage.withLock { body(&$0) }
    }

    package var value: Value { storage.withLock { $0 } }
}

/// A fresh directory under /tmp with a short name, so socket paths stay far below 108 bytes and
/// tests running in parallel share nothing; removed when released.
package final class TemporaryDirectory: Sendable {
    package let path: String

    package init() throws {
        var template = Array("/tmp/sl-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("cannot create a temporary directory") }
        path = String(cString: made)
    }

    package func socket(_ name: String = "s.sock") -> String { path + "/" + name }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension Township {
    /// The identifiers of the ledger's alerts on `pattern`, in order, every page read (as the station).
    package func ledgerAlertIdentifiers(_ pattern: String = "alert.>") async throws -> [String] {
        try await withClient("station") { client in
            var identifiers: [String] = []
            var from: UInt64 = 1
            while true {
                let page = try await client.unary(
                    BrokerV1.Broker.readLedger,
                    BrokerV1.ReadLedgerRequest(fromSequence: from, limit: 1000, subjectPattern: pattern)
                )
                for event in page.events {
                    if case .alert(let alert)? = event.body { identifiers.append(alert.identifier) }
                }
                from = page.nextFromSequence
                if page.events.isEmpty || from > page.lastSequence { return identifiers }
            }
        }
    }
}
