package import SanlianWire

/// Call metadata: ordered string pairs, keys lower-case. Keys starting with `sanlian-` are
/// reserved; the broker overwrites them with what it authenticated.
package struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// Stored as the wire's entries, so that a call's metadata goes from the decoded frame to the
    /// next encoded one without being converted (and allocated) on the way.
    package private(set) var wire: [RPCV1.MetadataEntry] = []

    package init() {}

    package init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { add(key, value) }
    }

    package init(_ wire: [RPCV1.MetadataEntry]) {
        self.wire = wire
        // Keys are lower-case on the wire already; only repair those that are not (lowercased()
        // allocates, and this runs for every call).
        for index in self.wire.indices where Self.hasUppercaseASCII(self.wire[index].key) {
            self.wire[index].key = self.wire[index].key.lowercased()
        }
    }

    package mutating func add(_ key: String, _ value: String) {
        wire.append(RPCV1.MetadataEntry(key: Self.hasUppercaseASCII(key) ? key.lowercased() : key, value: value))
    }

    /// Replaces every value of `key` with `value`.
    package mutating func replace(_ key: String, with value: String) {
        remove(key)
        add(key, value)
    }

    package mutating func remove(_ key: String) {
        let key = key.lowercased()
        wire.removeAll { $0.key == key }
    }

    /// Removes every reserved `sanlian-` key.
    package mutating func removeReserved() {
        guard wire.contains(where: { $0.key.utf8.starts(with: MetadataKey.reservedPrefix.utf8) }) else { return }
        wire.removeAll { $0.key.utf8.starts(with: MetadataKey.reservedPrefix.utf8) }
    }

    /// The first value of `key`.
    package subscript(key: String) -> String? {
        let key = Self.hasUppercaseASCII(key) ? key.lowercased() : key
        return wire.first { $0.key == key }?.value
    }

    package var isEmpty: Bool { wire.isEmpty }

    package var count: Int { wire.count }

    package func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        wire.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }

    /// Whether `key` needs lower-casing; over the contiguous UTF-8 of native strings, as this runs
    /// for every key of every call.
    @inline(__always)
    static func hasUppercaseASCII(_ key: String) -> Bool {
        key.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.contains { $0 &- UInt8(ascii: "A") < 26 }
        } ?? key.utf8.contains { $0 &- UInt8(ascii: "A") < 26 }
    }
}

/// Metadata keys the runtime and the broker use.
package enum MetadataKey {
    package static let reservedPrefix = "sanlian-"
    /// The caller's authenticated department, stamped by the broker.
    package static let department = "sanlian-department"
    /// The caller's operator, stamped by the broker.
    package static let operatorID = "sanlian-operator"
    /// The caller's Unix uid as the broker read it from SO_PEERCRED.
    package static let peerUID = "sanlian-peer-uid"
    /// The operator's roles, comma-separated ("duty_officer,station_leader").
    package static let roles = "sanlian-roles"
    /// Where the operator's roles apply: one entry per item, "village=511681104203".
    package static let scope = "sanlian-scope"
    /// The department's extra rights, comma-separated ("personal_data").
    package static let grants = "sanlian-grants"
}
