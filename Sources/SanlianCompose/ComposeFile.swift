import Foundation
import Yams

/// The township's compose file (compose/township.yaml): departments with their credentials and
/// ACLs, escalation times, and where sockets and data live. Parsed once at startup.
package struct ComposeFile: Sendable, Equatable {
    package var version: Int
    package var broker: BrokerSettings
    package var escalation: EscalationSettings
    /// Department code → department.
    package var departments: [String: Department]
    /// Operator id → the person, their department, roles and scope, and how they authenticate.
    package var operators: [String: Operator]
    package var services: [String: ServiceSettings]
    /// The file's YAML, for the sections a service reads itself (`section(_:as:)`).
    package var text: String = ""

    package struct BrokerSettings: Sendable, Equatable {
        package var socket: String
        package var ledger: String
        package var maxFrameBytes: Int
        package var ackTimeoutSeconds: Int
        package var maxDeliveries: Int
        package var maxInFlight: Int
        package var escalationCheckSeconds: Int
        /// Unsent answers to one connection past which the broker stops reading it.
        package var outputPauseBytes: Int
        /// Unsent answers to one connection past which the broker closes it.
        package var outputCloseBytes: Int
        /// Seconds a paused connection may take none of its answers before it is closed.
        package var outputStallSeconds: Int
    }

    /// Seconds an aggregate of each severity may stay unacknowledged before it escalates.
    package struct EscalationSettings: Sendable, Equatable {
        package var extreme: Int
        package var severe: Int
        package var moderate: Int
        package var minor: Int
        package var unknown: Int
    }

    package struct Department: Sendable, Equatable {
        package var code: String
        package var name: String
        package var credentialFile: String
        package var uid: UInt32?
        package var methods: [String]
        package var serve: [String]
        package var publish: [String]
        package var subscribe: [String]
        package var grants: [String]
    }

    /// A person who acts through the CLI: a duty officer, a station leader, a clerk, a village
    /// group leader, an enterprise owner.
    package struct Operator: Sendable, Equatable {
        package var id: String
        package var name: String
        package var department: String
        /// e.g. "duty_officer", "station_leader", "registration_clerk", "village_leader".
        package var roles: [String]
        /// Where the roles apply, each "kind=value" ("village=511681104203", "enterprise=E001").
        package var scope: [String]
        /// Authenticated by the Unix user they run as (SO_PEERCRED), when set…
        package var uid: UInt32?
        /// …else by a credential file of their own.
        package var credentialFile: String?
    }

    package struct ServiceSettings: Sendable, Equatable {
        package var name: String
        package var department: String
        package var database: String
        /// Services that must be registered before this one starts (those it calls), and that
        /// stop after it.
        package var after: [String] = []
    }
}

/// What is wrong with a compose file, naming the key.
package struct ComposeError: Error, CustomStringConvertible, Equatable {
    package var description: String

    package init(_ description: String) {
        self.description = description
    }
}

extension ComposeFile {
    /// Reads and validates a compose file.
    /// - Throws: `ComposeError` naming the file and the key at fault.
    package static func load(path: String) throws(ComposeError) -> ComposeFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ComposeError("cannot read compose file \(path)")
        }
        do {
            return try parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw ComposeError("\(path): \(error.description)")
        }
    }

    /// Parses compose YAML text.
    package static func parse(_ text: String) throws(ComposeError) -> ComposeFile {
        let raw: RawCompose
        do {
            raw = try YAMLDecoder().decode(RawCompose.self, from: text)
        } catch let error as DecodingError {
            throw ComposeError(describe(error))
        } catch {
            throw ComposeError("not valid YAML: \(error)")
        }
        guard raw.version == 1 else {
            throw ComposeError("version: \(raw.version) is not supported (expected 1)")
        }
        let broker = raw.broker
        let escalation = raw.escalation ?? RawEscalation()
        var departments: [String: Department] = [:]
        for (code, department) in raw.departments ?? [:] {
            guard code.range(of: "^[a-z][a-z0-9_]{0,31}$", options: .regularExpression) != nil else {
                throw ComposeError("departments.\(code): codes are lower-case letters, digits and _")
            }
            guard !department.credentialFile.isEmpty else {
                throw ComposeError("departments.\(code).credential_file: must not be empty")
            }
            for pattern in department.methods ?? [] where !pattern.hasPrefix("/") {
                throw ComposeError("departments.\(code).methods: \"\(pattern)\" must start with /")
            }
            departments[code] = Department(
                code: code,
                name: department.name ?? code,
                credentialFile: department.credentialFile,
                uid: department.uid,
                methods: department.methods ?? [],
                serve: department.serve ?? [],
                publish: department.publish ?? [],
                subscribe: department.subscribe ?? [],
                grants: department.grants ?? []
            )
        }
        guard !departments.isEmpty else { throw ComposeError("departments: at least one department is needed") }
        // The largest alert the broker accepts, in an event, must fit a frame with room to spare.
        if let frame = broker?.maxFrameBytes, frame < 65_536 {
            throw ComposeError("broker.max_frame_bytes: \(frame) is less than the minimum of 65536")
        }
        if let pause = broker?.outputPauseBytes, let close = broker?.outputCloseBytes, close <= pause {
            throw ComposeError("broker.output_close_bytes: must be more than broker.output_pause_bytes (\(pause))")
        }
        var operators: [String: Operator] = [:]
        for (id, person) in raw.operators ?? [:] {
            let key = "operators.\(id)"
            guard id.range(of: "^[a-z0-9][a-z0-9._-]{0,63}$", options: .regularExpression) != nil else {
                throw ComposeError("\(key): ids are 1-64 lower-case letters, digits, '.', '_' or '-'")
            }
            guard departments[person.department] != nil else {
                throw ComposeError("\(key).department: unknown department \(person.department)")
            }
            for role in person.roles ?? []
            where role.range(of: "^[a-z][a-z_]{0,31}$", options: .regularExpression) == nil {
                throw ComposeError("\(key).roles: \"\(role)\" is not a role name (lower-case letters and _)")
            }
            var scope: [String] = []
            for (kind, values) in (person.scope ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard ["village", "enterprise"].contains(kind) else {
                    throw ComposeError("\(key).scope.\(kind): a scope is a village or an enterprise")
                }
                for value in values.values {
                    if kind == "village", !(value.count == 12 && value.allSatisfy(\.isNumber)) {
                        throw ComposeError("\(key).scope.village: \"\(value)\" is not a 12-digit village code")
                    }
                    guard !value.isEmpty, !value.contains(","), !value.contains("=") else {
                        throw ComposeError("\(key).scope.\(kind): \"\(value)\" is not a valid value")
                    }
                    scope.append("\(kind)=\(value)")
                }
            }
            if person.uid != nil, person.credentialFile != nil {
                throw ComposeError("\(key): give uid or credential_file, not both")
            }
            operators[id] = Operator(
                id: id,
                name: person.name ?? id,
                department: person.department,
                roles: person.roles ?? [],
                scope: scope,
                uid: person.uid,
                credentialFile: person.uid == nil ? (person.credentialFile ?? "secrets/operators/\(id).secret") : nil
            )
        }
        var services: [String: ServiceSettings] = [:]
        for (name, service) in raw.services ?? [:] {
            guard departments[service.department] != nil else {
                throw ComposeError("services.\(name).department: unknown department \(service.department)")
            }
            services[name] = ServiceSettings(
                name: name,
                department: service.department,
                database: service.database ?? "",
                after: service.after ?? []
            )
        }
        for (name, service) in services {
            for other in service.after where services[other] == nil {
                throw ComposeError("services.\(name).after: \(other) is not a service of this file")
            }
        }
        if let cycle = Self.startOrder(services).cycle {
            throw ComposeError("services: \(cycle.joined(separator: " → ")) wait for each other (after:)")
        }
        var file = ComposeFile(
            version: raw.version,
            broker: BrokerSettings(
                socket: broker?.socket ?? "run/broker.sock",
                ledger: broker?.ledger ?? "data/broker-ledger.sqlite",
                maxFrameBytes: try positive(broker?.maxFrameBytes, default: 1 << 20, key: "broker.max_frame_bytes"),
                ackTimeoutSeconds: try positive(
                    broker?.ackTimeoutSeconds,
                    default: 30,
                    key: "broker.ack_timeout_seconds"
                ),
                maxDeliveries: try positive(broker?.maxDeliveries, default: 5, key: "broker.max_deliveries"),
                maxInFlight: try positive(broker?.maxInFlight, default: 256, key: "broker.max_in_flight"),
                escalationCheckSeconds: try positive(
                    broker?.escalationCheckSeconds,
                    default: 10,
                    key: "broker.escalation_check_seconds"
                ),
                outputPauseBytes: try positive(
                    broker?.outputPauseBytes,
                    default: 4 << 20,
                    key: "broker.output_pause_bytes"
                ),
                outputCloseBytes: try positive(
                    broker?.outputCloseBytes,
                    default: 64 << 20,
                    key: "broker.output_close_bytes"
                ),
                outputStallSeconds: try positive(
                    broker?.outputStallSeconds,
                    default: 30,
                    key: "broker.output_stall_seconds"
                )
            ),
            escalation: EscalationSettings(
                extreme: try duration(escalation.extreme, default: 300, key: "escalation.extreme"),
                severe: try duration(escalation.severe, default: 900, key: "escalation.severe"),
                moderate: try duration(escalation.moderate, default: 3600, key: "escalation.moderate"),
                minor: try duration(escalation.minor, default: 14_400, key: "escalation.minor"),
                unknown: try duration(escalation.unknown, default: 3600, key: "escalation.unknown")
            ),
            departments: departments,
            operators: operators,
            services: services
        )
        file.text = text
        return file
    }

    /// The top-level section `key` of the file (a service's own, such as `patrol:`), decoded as
    /// `T`; nil when the file has none.
    /// - Throws: `ComposeError` naming the key at fault.
    package func section<T: Decodable>(_ key: String, as type: T.Type) throws(ComposeError) -> T? {
        do {
            return try YAMLDecoder().decode(
                ComposeSection<T>.self,
                from: text,
                userInfo: [ComposeSection<T>.nameKey: key]
            ).value
        } catch let error as DecodingError {
            throw ComposeError(Self.describe(error))
        } catch {
            throw ComposeError("\(key): \(error)")
        }
    }

    /// Resolves `path` against the state directory unless it is absolute.
    /// The services in the order they start: each after those it names in `after`, otherwise
    /// by name.
    package var serviceStartOrder: [ServiceSettings] { Self.startOrder(services).order }

    /// A topological order of `services`, or the services that wait for each other.
    static func startOrder(_ services: [String: ServiceSettings]) -> (order: [ServiceSettings], cycle: [String]?) {
        var order: [ServiceSettings] = []
        var placed = Set<String>()
        var remaining = services.keys.sorted()
        while !remaining.isEmpty {
            guard let next = remaining.first(where: { services[$0]!.after.allSatisfy(placed.contains) }) else {
                return (order, remaining)
            }
            order.append(services[next]!)
            placed.insert(next)
            remaining.removeAll { $0 == next }
        }
        return (order, nil)
    }

    package static func resolve(_ path: String, stateDirectory: String) -> String {
        path.hasPrefix("/") ? path : (stateDirectory as NSString).appendingPathComponent(path)
    }

    private static func positive(_ value: Int?, default fallback: Int, key: String) throws(ComposeError) -> Int {
        guard let value else { return fallback }
        guard value > 0 else { throw ComposeError("\(key): must be a positive number, got \(value)") }
        return value
    }

    /// "90s", "15m", "4h" → seconds.
    package static func duration(_ text: String?, default fallback: Int, key: String) throws(ComposeError) -> Int {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        guard let unit = text.last, let multiplier = units[unit], let number = Int(text.dropLast()), number > 0
        else {
            throw ComposeError("\(key): \"\(text)\" is not a duration like 90s, 15m or 4h")
        }
        return number * multiplier
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let prefix = path(context.codingPath)
            return "\(prefix.isEmpty ? "" : prefix + ".")\(key.stringValue): missing"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found nothing"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

private struct RawCompose: Decodable {
    var version: Int
    var broker: RawBroker?
    var escalation: RawEscalation?
    var departments: [String: RawDepartment]?
    var operators: [String: RawOperator]?
    var services: [String: RawService]?
}

private struct RawOperator: Decodable {
    var name: String?
    var department: String
    var roles: [String]?
    var scope: [String: OneOrMany]?
    var uid: UInt32?
    var credentialFile: String?

    enum CodingKeys: String, CodingKey {
        case name, department, roles, scope, uid
        case credentialFile = "credential_file"
    }
}

/// A YAML value that is one string or a list of them.
private struct OneOrMany: Decodable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            values = [one]
        } else {
            values = try container.decode([String].self)
        }
    }
}

private struct RawBroker: Decodable {
    var socket: String?
    var ledger: String?
    var maxFrameBytes: Int?
    var ackTimeoutSeconds: Int?
    var maxDeliveries: Int?
    var maxInFlight: Int?
    var escalationCheckSeconds: Int?
    var outputPauseBytes: Int?
    var outputCloseBytes: Int?
    var outputStallSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case socket, ledger
        case maxFrameBytes = "max_frame_bytes"
        case ackTimeoutSeconds = "ack_timeout_seconds"
        case maxDeliveries = "max_deliveries"
        case maxInFlight = "max_in_flight"
        case escalationCheckSeconds = "escalation_check_seconds"
        case outputPauseBytes = "output_pause_bytes"
        case outputCloseBytes = "output_close_bytes"
        case outputStallSeconds = "output_stall_seconds"
    }
}

private struct RawEscalation: Decodable {
    var extreme: String?
    var severe: String?
    var moderate: String?
    var minor: String?
    var unknown: String?
}

private struct RawDepartment: Decodable {
    var name: String?
    var credentialFile: String
    var uid: UInt32?
    var methods: [String]?
    var serve: [String]?
    var publish: [String]?
    var subscribe: [String]?
    var grants: [String]?

    enum CodingKeys: String, CodingKey {
        case name, uid, methods, serve, publish, subscribe, grants
        case credentialFile = "credential_file"
    }
}

private struct RawService: Decodable {
    var department: String
    var database: String?
    var after: [String]?
}

/// One top-level section of a compose file, by the name in the decoder's user info.
private struct ComposeSection<T: Decodable>: Decodable {
    static var nameKey: CodingUserInfoKey { CodingUserInfoKey(rawValue: "sanlian.section")! }

    var value: T?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let name = decoder.userInfo[Self.nameKey] as? String ?? ""
        value = try container.decodeIfPresent(T.self, forKey: Key(stringValue: name))
    }
}
