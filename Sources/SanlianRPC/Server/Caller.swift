/// Who made a call, as a department service reads it: from the broker's stamps alone (the
/// `sanlian-` metadata keys, docs/PROTOCOL.md §7), which the broker writes on every call it
/// forwards after removing whatever the caller sent under them. A service serves only through the
/// broker, so its calls carry them; nothing a caller writes in a request decides who it is.
package struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// The authenticated department, e.g. "station".
    package var department: String
    /// The authenticated operator, or "" when a department's process called for itself.
    package var operatorID: String
    package var roles: Set<String>
    /// "kind=value" items: "village=511681104203", "enterprise=E001".
    package var scope: [String]
    package var grants: Set<String>
    /// The caller's Unix uid, when the broker knew it.
    package var uid: UInt32?

    package init(
        department: String,
        operatorID: String = "",
        roles: Set<String> = [],
        scope: [String] = [],
        grants: Set<String> = [],
        uid: UInt32? = nil
    ) {
        self.department = department
        self.operatorID = operatorID
        self.roles = roles
        self.scope = scope
        self.grants = grants
        self.uid = uid
    }

    /// The caller of a forwarded call, read from the broker's stamps.
    package init(stamps metadata: Metadata) {
        func list(_ key: String) -> [String] {
            (metadata[key] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        }
        self.init(
            department: metadata[MetadataKey.department] ?? "",
            operatorID: metadata[MetadataKey.operatorID] ?? "",
            roles: Set(list(MetadataKey.roles)),
            scope: metadata.filter { $0.key == MetadataKey.scope }.map(\.value),
            grants: Set(list(MetadataKey.grants)),
            uid: metadata[MetadataKey.peerUID].flatMap(UInt32.init)
        )
    }

    /// Whether the operator holds `role`.
    package func has(role: String) -> Bool { roles.contains(role) }

    /// Whether the department holds `grant` (e.g. "personal_data").
    package func holds(grant: String) -> Bool { grants.contains(grant) }

    /// The values of the operator's scope of `kind`: `scoped("village")` → ["511681104203"].
    package func scoped(_ kind: String) -> [String] {
        scope.compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            return parts.count == 2 && parts[0] == kind ? String(parts[1]) : nil
        }
    }

    /// "station/duty-0421", or "station" for a department's own process: who did it, for records.
    package var description: String { operatorID.isEmpty ? department : "\(department)/\(operatorID)" }
}

extension ServerContext {
    /// Who made this call, from the broker's stamps (`Caller`).
    package var caller: Caller { Caller(stamps: metadata) }
}
