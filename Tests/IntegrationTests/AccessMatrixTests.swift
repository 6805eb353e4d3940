import Foundation
import SanlianCompose
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// The access matrix of the default compose file, generated from it: every department and every
/// operator of the file × every method of every contract in `proto/`, allowed or refused by the
/// broker exactly as the department's `methods` say. Nothing is written out by hand: a method
/// added to a contract or a pattern changed in the file changes what is expected.
@Suite("The access matrix of the default compose file", .timeLimit(.minutes(3)))
struct AccessMatrixTests {
    struct Method: Sendable {
        var path: String
        var streaming: Bool
    }

    /// Every rpc of every proto file: "/package.Service/Method".
    static func methods() throws -> [Method] {
        let directory = Township.repositoryRoot + "/proto"
        var methods: [Method] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        where file.hasSuffix(".proto") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            var package = ""
            var service = ""
            for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if line.hasPrefix("package ") {
                    package = String(line.dropFirst(8).dropLast())
                } else if line.hasPrefix("service ") {
                    service = String(line.dropFirst(8).prefix { $0 != " " && $0 != "{" })
                } else if line.hasPrefix("rpc "), !service.isEmpty {
                    let name = line.dropFirst(4).prefix { $0 != "(" }
                    methods.append(
                        Method(path: "/\(package).\(service)/\(name)", streaming: line.contains("returns (stream "))
                    )
                } else if line == "}" {
                    service = ""
                }
            }
        }
        return methods
    }

    /// The file's method pattern as the broker reads it: `*` stands for anything without a "/".
    static func allows(_ patterns: [String], _ method: String) -> Bool {
        patterns.contains { pattern in
            let expression =
                "^" + NSRegularExpression.escapedPattern(for: pattern).replacingOccurrences(of: "\\*", with: "[^/]*")
                + "$"
            return method.range(of: expression, options: .regularExpression) != nil
        }
    }

    @Test("every department and operator × every method: PERMISSION_DENIED exactly where the file does not allow it")
    func matrix() async throws {
        let township = try Township()
        let compose = try ComposeFile.load(path: township.composePath)
        let methods = try Self.methods()
        #expect(methods.count > 100, "\(methods.count) methods found in proto/")
        // Departments acting alone, and each operator (authenticated by their own credential).
        let identities: [(department: String, operatorID: String)] =
            compose.departments.keys.sorted().map { ($0, "") }
            + compose.operators.values.sorted { $0.id < $1.id }.map { ($0.department, $0.id) }
        _ = try await Harness.withBroker(township) { _ in
            // No department service runs: an allowed call is answered UNAVAILABLE (or by the broker
            // itself), a refused one PERMISSION_DENIED "may not call".
            let wrong = try await withThrowingTaskGroup(of: [String].self) { group in
                for identity in identities {
                    group.addTask {
                        try await township.withClient(identity.department, operatorID: identity.operatorID) { client in
                            var wrong: [String] = []
                            let patterns = compose.departments[identity.department]!.methods
                            for method in methods {
                                let expected = Self.allows(patterns, method.path)
                                let timeout: Duration = method.streaming ? .milliseconds(300) : .seconds(10)
                                var refused = false
                                do {
                                    _ = try await client.unary(
                                        method: method.path,
                                        payload: [],
                                        options: CallOptions(timeout: timeout)
                                    )
                                } catch let error as RPCError {
                                    refused = error.code == .permissionDenied && error.message.contains("may not call")
                                }
                                if refused == expected {
                                    let who =
                                        identity.operatorID.isEmpty
                                        ? identity.department : "\(identity.operatorID) (\(identity.department))"
                                    wrong.append("\(who) \(method.path): \(expected ? "refused" : "allowed")")
                                }
                            }
                            return wrong
                        }
                    }
                }
                var all: [String] = []
                for try await wrong in group { all += wrong }
                return all
            }
            #expect(wrong.isEmpty, "\(wrong.count) wrong: \(wrong.prefix(20).joined(separator: "; "))")
        }
    }
}
