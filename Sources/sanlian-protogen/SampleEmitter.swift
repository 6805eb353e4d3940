/// Writes test samples for every message: an empty value and "maximal" variants that fill every
/// field (extreme numbers, Chinese text, four-byte UTF-8, all byte values, unknown enum values),
/// one variant per member of the widest oneof.
struct SampleEmitter {
    let emitter: SwiftEmitter

    func variantCount(_ message: ProtoMessage) -> Int {
        let widest = message.oneofs.indices.map { emitter.oneofMembers(message, $0).count }.max() ?? 0
        return max(2, widest)
    }

    func sampleValue(_ kind: ProtoField.Kind, field: ProtoField, variant: String) -> String {
        switch kind {
        case .double: "(\(variant) % 2 == 0 ? Double.greatestFiniteMagnitude : -0.5)"
        case .float: "(\(variant) % 2 == 0 ? Float.greatestFiniteMagnitude : -0.5)"
        case .int64, .sfixed64, .sint64: "(\(variant) % 2 == 0 ? Int64.max : Int64.min)"
        case .uint64, .fixed64: "(\(variant) % 2 == 0 ? UInt64.max : 1)"
        case .int32, .sfixed32, .sint32: "(\(variant) % 2 == 0 ? Int32.max : Int32.min)"
        case .uint32, .fixed32: "(\(variant) % 2 == 0 ? UInt32.max : 1)"
        case .bool: "true"
        case .string: "\"高兴派出所 \(field.name) 联防巡逻 ✓🚓 #\\(\(variant))\""
        case .bytes: "(\(variant) % 2 == 0 ? Array(0...255) : [0, 0, 0xFF])"
        case .enumeration(let name):
            "(\(variant) % 2 == 0 ? \(emitter.swiftType(name)).knownCases.last! : .unrecognized(7_777))"
        case .message(let name): "\(emitter.swiftType(name)).sample(variant: \(variant))"
        }
    }

    func file() -> String {
        var out = emitter.header(source: "proto/*.proto")
        for module in Set(emitter.contracts.values.map(\.module)).sorted() { out += "import \(module)\n" }
        out += "import SanlianWire\n\n"
        out += "/// Every generated message type with its samples.\n"
        out += "let generatedSampleCases: [WireSampleCase] = [\n"
        for file in emitter.files {
            for message in file.messages {
                out += "    WireSampleCase(\(emitter.swiftType(message.fullName)).self),\n"
            }
        }
        out += "]\n"
        for file in emitter.files {
            for message in file.messages {
                out += "\n" + sampleExtension(message)
            }
        }
        return out
    }

    func sampleExtension(_ message: ProtoMessage) -> String {
        var out = "extension \(emitter.swiftType(message.fullName)): WireSampled {\n"
        out += "    static let sampleVariants = \(variantCount(message))\n\n"
        out += "    static func sample(variant: Int) -> Self {\n"
        // A message without fields is never changed after it is made.
        out += message.fields.isEmpty ? "        let value = Self()\n" : "        var value = Self()\n"
        var emittedOneofs: Set<Int> = []
        for field in message.fields {
            let property = Naming.property(field.name)
            if let index = field.oneofIndex, !emitter.isPresenceOneof(message, index) {
                guard !emittedOneofs.contains(index) else { continue }
                emittedOneofs.insert(index)
                let members = emitter.oneofMembers(message, index)
                out += "        switch variant % \(members.count) {\n"
                for (position, member) in members.enumerated() {
                    let value = sampleValue(member.kind, field: member, variant: "variant")
                    let wrapped = member.repeated ? "[\(value)]" : value
                    out +=
                        "        case \(position): value.\(Naming.property(message.oneofs[index])) = .\(Naming.property(member.name))(\(wrapped))\n"
                }
                out += "        default: break\n        }\n"
                continue
            }
            if field.repeated {
                let first = sampleValue(field.kind, field: field, variant: "variant")
                let second = sampleValue(field.kind, field: field, variant: "(variant + 1)")
                out += "        value.\(property) = [\(first), \(second)]\n"
            } else {
                out += "        value.\(property) = \(sampleValue(field.kind, field: field, variant: "variant"))\n"
            }
        }
        out += "        return value\n    }\n}\n"
        return out
    }
}
