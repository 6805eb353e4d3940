package import BrokerPubSub
import Foundation
package import SanlianCompose
package import SanlianRPC
import SanlianWire
import Synchronization

/// The broker's access decisions, from the compose file's ACLs: which methods a department may
/// call, which services it may serve, which subjects it may publish and read, which grants it holds.
package struct AccessPolicy: Sendable {
    package struct Rules: Sendable {
        var methods: [Glob]
        var serve: [Glob]
        var publish: [SubjectPattern]
        var subscribe: [SubjectPattern]
        var grants: Set<String>
        var uid: UInt32?
    }

    package let departments: [String: Rules]
    /// Decisions already made, by department and method: the ACL is fixed for the broker's life,
    /// and matching globs on every forwarded call showed in profiles.
    private let decisions = DecisionCache()

    /// - Throws: `ComposeError` for a malformed subject pattern, naming the department and key.
    package init(compose: ComposeFile) throws(ComposeError) {
        var departments: [String: Rules] = [:]
        for (code, department) in compose.departments {
            func patterns(_ texts: [String], key: String) throws(ComposeError) -> [SubjectPattern] {
                var result: [SubjectPattern] = []
                for text in texts {
                    do {
                        result.append(try SubjectPattern(text))
                    } catch {
                        throw ComposeError("departments.\(code).\(key): \(error.description)")
                    }
                }
                return result
            }
            departments[code] = Rules(
                methods: department.methods.map(Glob.init),
                serve: department.serve.map(Glob.init),
                publish: try patterns(department.publish, key: "publish"),
                subscribe: try patterns(department.subscribe, key: "subscribe"),
                grants: Set(department.grants),
                uid: department.uid
            )
        }
        self.departments = departments
    }

    /// - Throws: PERMISSION_DENIED naming the department and the method.
    package func authorizeCall(department: String, method: String) throws(RPCError) {
        let key = DecisionCache.Key(department: department, method: method)
        let allowed: Bool
        if let cached = decisions.lookup(key) {
            allowed = cached
        } else {
            allowed = departments[department]?.methods.contains(where: { $0.matches(method) }) ?? false
            decisions.store(key, allowed)
        }
        guard allowed else {
            throw RPCError(.permissionDenied, "department \(department) may not call \(method)")
        }
    }

    package func mayServe(department: String, service: String) -> Bool {
        departments[department]?.serve.contains { $0.matches(service) } ?? false
    }

    /// Whether any department may serve `service`.
    package func anyMayServe(_ service: String) -> Bool {
        departments.values.contains { rules in rules.serve.contains { $0.matches(service) } }
    }

    package func mayPublish(department: String, subject: String) -> Bool {
        departments[department]?.publish.contains { $0.matches(subject) } ?? false
    }

    /// Whether every subject `pattern` can match is readable by the department.
    package func maySubscribe(department: String, pattern: SubjectPattern) -> Bool {
        departments[department]?.subscribe.contains { $0.covers(pattern) } ?? false
    }

    /// What the department may read: whether it may read an event is `allows(subject)`. Looked
    /// up once, as a durable subscription asks it of every event it reads, and the lookup by
    /// department cost more than the match.
    package func readPermission(of department: String) -> ReadPermission {
        ReadPermission(patterns: departments[department]?.subscribe ?? [])
    }

    package func holds(department: String, grant: String) -> Bool {
        departments[department]?.grants.contains(grant) ?? false
    }

    /// The department's grants, sorted.
    package func grants(of department: String) -> [String] {
        (departments[department]?.grants ?? []).sorted()
    }

    package func boundUID(of department: String) -> UInt32? {
        departments[department]?.uid
    }
}

/// The subject patterns one department may read.
package struct ReadPermission: Sendable {
    let patterns: [SubjectPattern]

    package func allows(_ subject: String) -> Bool {
        patterns.contains { $0.matches(subject) }
    }

    /// Whether every subject is readable (a pattern `>`), so that nothing needs filtering.
    package var allowsEverything: Bool {
        patterns.contains { $0 == .all }
    }
}

/// A `*` glob over method paths and service names: `*` matches any run of characters except `/`.
struct Glob: Sendable {
    private let parts: [Substring]
    private let text: String

    init(_ text: String) {
        self.text = text
        self.parts = text.split(separator: "*", omittingEmptySubsequences: false)
    }

    func matches(_ candidate: String) -> Bool {
        guard parts.count > 1 else { return candidate == text }
        var rest = candidate[...]
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (index, part) in parts.enumerated().dropFirst() {
            let isLast = index == parts.count - 1
            if isLast {
                guard rest.hasSuffix(part) else { return false }
                let wildcard = rest.dropLast(part.count)
                return !wildcard.contains("/")
            }
            guard let range = rest.range(of: part) else { return false }
            if rest[..<range.lowerBound].contains("/") { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}

/// A bounded memo of call decisions. Bounded because method paths come from callers: a peer
/// inventing paths must not grow it without limit.
final class DecisionCache: Sendable {
    struct Key: Hashable, Sendable {
        var department: String
        var method: String
    }

    private static let capacity = 4096
    private let entries = Mutex<[Key: Bool]>([:])

    func lookup(_ key: Key) -> Bool? {
        entries.withLock { $0[key] }
    }

    func store(_ key: Key, _ allowed: Bool) {
        entries.withLock { entries in
            if entries.count < Self.capacity { entries[key] = allowed }
        }
    }
}
