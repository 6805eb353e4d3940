package import SanlianWire

/// Call metadata: ordered string pairs, keys lower-case. Keys starting with `sanlian-` are
/// reserved; the broker overwrites them with what it authenticated.
package struct Metadata: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    package private(set) var entries: [(key: String, value: String)] = []

    package init() {}

    package init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { add(key, value) }
    }

    package init(_ wire: [RPCV1.MetadataEntry]) {
        // Keys are lower-case on the wire already; only repair those that are not (lowercased()
        // allocates, and this runs for every call).
        entries = wire.map { entry in
            (key: Self.hasUppercaseASCII(entry.key) ? entry.key.lowercased() : entry.key, value: entry.value)
        }
    }

    package var wire: [RPCV1.MetadataEntry] {
        entries.map { RPCV1.MetadataEntry(key: $0.key, value: $0.value) }
    }

    package mutating func add(_ key: String, _ value: String) {
        entries.append((key: Self.hasUppercaseASCII(key) ? key.lowercased() : key, value: value))
    }

    /// Whether `key` needs lower-casing; over the contiguous UTF-8 of native strings, as this runs
    /// for every key of every call.
    @inline(__always)
    static func hasUppercaseASCII(_ key: String) -> Bool {
        key.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.contains { $0 &- UInt8(ascii: "A") < 26 }
        } ?? key.utf8.contains { $0 &- UInt8(ascii: "A") < 26 }
    }

    /// Replaces every value of `key` with `value`.
    package mutating func replace(_ key: String, with value: String) {
        remove(key)
        add(key, value)
    }

    package mutating func remove(_ key: String) {
        let key = key.lowercased()
        entries.removeAll { $0.key == key }
    }

    /// Removes every reserved `sanlian-` key.
    package mutating func removeReserved() {
        guard entries.contains(where: { $0.key.utf8.starts(with: MetadataKey.reservedPrefix.utf8) }) else { return }
        entries.removeAll { $0.key.utf8.starts(with: MetadataKey.reservedPrefix.utf8) }
    }

    /// The first value of `key`.
    package subscript(key: String) -> String? {
        let key = key.lowercased()
        return entries.first { $0.key == key }?.value
    }

    package var isEmpty: Bool { entries.isEmpty }

    package func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        entries.makeIterator()
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    package func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
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
}
