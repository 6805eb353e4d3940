/// Writes the Swift message layer for a set of proto files: one value type per message, one enum
/// per proto enum (keeping unknown values), the conversions to and from protoc-c's C structs, and a
/// description of every service's methods.
/// A .proto whose generated code is a module of its own (a department's contract).
struct Contract {
    /// The Swift module, e.g. "PatrolContract".
    var module: String
    /// Where its Swift files go.
    var directory: String
    /// The C module of its protoc-c output, e.g. "CPatrolProto".
    var cModule: String
}

struct SwiftEmitter {
    let files: [ProtoFile]
    /// .proto file name → its own module; the others go into SanlianWire.
    let contracts: [String: Contract]
    private var messagesByName: [String: ProtoMessage] = [:]
    private var enumsByName: [String: ProtoEnum] = [:]

    init(files: [ProtoFile], contracts: [String: Contract] = [:]) {
        self.files = files
        self.contracts = contracts
        for file in files {
            for message in file.messages { messagesByName[message.fullName] = message }
            for enumeration in file.enums { enumsByName[enumeration.fullName] = enumeration }
        }
    }

    // MARK: - Names

    /// "sanlian.alert.v1.Alert" → "AlertV1.Alert".
    func swiftType(_ fullName: String) -> String {
        var parts = fullName.split(separator: ".").map(String.init)
        let name = parts.removeLast()
        return Naming.namespace(parts.joined(separator: ".")) + "." + name
    }

    func swiftType(of field: ProtoField) -> String {
        let element = elementType(field.kind)
        return field.repeated ? "[\(element)]" : element
    }

    func elementType(_ kind: ProtoField.Kind) -> String {
        switch kind {
        case .double: "Double"
        case .float: "Float"
        case .int64, .sfixed64, .sint64: "Int64"
        case .uint64, .fixed64: "UInt64"
        case .int32, .sfixed32, .sint32: "Int32"
        case .uint32, .fixed32: "UInt32"
        case .bool: "Bool"
        case .string: "String"
        case .bytes: "[UInt8]"
        case .message(let name): swiftType(name)
        case .enumeration(let name): swiftType(name)
        }
    }

    /// The C type of one element of a repeated field (what `T *x` / `T **x` points at).
    func cElementType(_ kind: ProtoField.Kind) -> String {
        switch kind {
        case .string: "UnsafeMutablePointer<CChar>?"
        case .bytes: "ProtobufCBinaryData"
        case .bool: "protobuf_c_boolean"
        case .message(let name): "UnsafeMutablePointer<\(Naming.cType(name))>?"
        case .enumeration(let name): Naming.cType(name)
        default: elementType(kind)
        }
    }

    func defaultValue(_ field: ProtoField) -> String {
        if field.repeated { return "[]" }
        switch field.kind {
        case .double, .float, .int64, .sfixed64, .sint64, .uint64, .fixed64, .int32, .sfixed32, .sint32, .uint32,
            .fixed32:
            return "0"
        case .bool: return "false"
        case .string: return "\"\""
        case .bytes: return "[]"
        case .message: return "nil"
        case .enumeration(let name): return "." + zeroCase(of: name)
        }
    }

    func zeroCase(of enumName: String) -> String {
        guard let enumeration = enumsByName[enumName], let zero = enumeration.values.first(where: { $0.number == 0 })
        else { return "init(rawValue: 0)" }
        return Naming.enumCase(zero.name, prefix: Naming.enumValuePrefix(enumeration.name))
    }

    /// Oneofs with one member model presence (protoc-c 1.4.1 has no proto3 `optional`): they become
    /// an optional property named after the field.
    func oneofMembers(_ message: ProtoMessage, _ index: Int) -> [ProtoField] {
        message.fields.filter { $0.oneofIndex == index }
    }

    func isPresenceOneof(_ message: ProtoMessage, _ index: Int) -> Bool {
        oneofMembers(message, index).count == 1
    }

    // MARK: - Conversions

    /// Swift expression reading one C value `value` of `kind`.
    func decodeExpression(_ kind: ProtoField.Kind, _ value: String, message: ProtoMessage, field: ProtoField)
        -> String
    {
        switch kind {
        case .bool: return "\(value) != 0"
        case .string: return "try wireString(\(value), message: \"\(message.fullName)\", field: \"\(field.name)\")"
        case .bytes: return "wireBytes(\(value))"
        case .enumeration(let name):
            return "\(swiftType(name))(rawValue: Int32(truncatingIfNeeded: \(value).rawValue))"
        case .message(let name):
            return
                "try \(swiftType(name))(cMessage: wirePointee(\(value), message: \"\(message.fullName)\", field: \"\(field.name)\"))"
        default: return value
        }
    }

    /// Swift expression producing the C value for Swift value `value` of `kind`.
    func encodeExpression(_ kind: ProtoField.Kind, _ value: String, message: ProtoMessage, field: ProtoField)
        -> String
    {
        switch kind {
        case .bool: return "\(value) ? 1 : 0"
        case .string: return "try arena.string(\(value), message: \"\(message.fullName)\", field: \"\(field.name)\")"
        case .bytes: return "arena.bytes(\(value))"
        case .enumeration(let name):
            let cType = Naming.cType(name)
            return "\(cType)(rawValue: \(cType).RawValue(truncatingIfNeeded: \(value).rawValue))"
        case .message: return "try \(value).cPointer(&arena)"
        default: return value
        }
    }

    // MARK: - Files

    /// The file declaring one namespace enum per proto package of SanlianWire (a contract module
    /// declares its own).
    func namespacesFile() -> String {
        var out = header(source: "proto/*.proto")
        let packages = Set(files.filter { contracts[$0.name] == nil }.map(\.package)).sorted()
        for package in packages {
            out += "\n/// Messages, enums and services of the proto package `\(package)`.\n"
            out += "package enum \(Naming.namespace(package)) {}\n"
        }
        return out
    }

    func swiftFile(for file: ProtoFile) -> String {
        var out = header(source: "proto/\(file.name)")
        let namespace = Naming.namespace(file.package)
        if let contract = contracts[file.name] {
            out += "package import CProtobufC\npackage import CSanlianProto\npackage import \(contract.cModule)\n"
            out += "package import SanlianWire\n"
            out += "\n/// Messages, enums and services of the proto package `\(file.package)`.\n"
            out += "package enum \(namespace) {}\n"
        } else {
            // `package`: the conversions to and from the C structs are the other contract
            // modules' too (their messages hold these).
            out += "package import CProtobufC\npackage import CSanlianProto\n"
        }
        for enumeration in file.enums {
            out += "\n" + enumDeclaration(enumeration, namespace: namespace)
        }
        for message in file.messages {
            out += "\n" + messageDeclaration(message, namespace: namespace)
            out += "\n" + messageConversions(message)
            out += "\n" + messageJSON(message)
        }
        for service in file.services {
            out += "\n" + serviceDeclaration(service, namespace: namespace)
        }
        return out
    }

    func header(source: String) -> String {
        "// DO NOT EDIT. Generated by sanlian-protogen from \(source); regenerate with `make proto`.\n\n"
    }

    func docComment(_ comment: String, indent: String) -> String {
        let lines = comment.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(" ") ? String($0.dropFirst()) : String($0) }
        var trimmed = lines
        while trimmed.last?.isEmpty == true { trimmed.removeLast() }
        while trimmed.first?.isEmpty == true { trimmed.removeFirst() }
        return trimmed.map { indent + ($0.isEmpty ? "///" : "/// " + $0) + "\n" }.joined()
    }

    func enumDeclaration(_ enumeration: ProtoEnum, namespace: String) -> String {
        let prefix = Naming.enumValuePrefix(enumeration.name)
        var out = "extension \(namespace) {\n"
        out += docComment(enumeration.comment, indent: "    ")
        out += "    package enum \(enumeration.name): WireEnum {\n"
        for value in enumeration.values {
            out += docComment(value.comment, indent: "        ")
            out += "        case \(Naming.enumCase(value.name, prefix: prefix))\n"
        }
        out +=
            "        /// A value this version of the contract does not know; kept so that it survives a round trip.\n"
        out += "        case unrecognized(Int32)\n\n"
        out += "        package init(rawValue: Int32) {\n            switch rawValue {\n"
        for value in enumeration.values {
            out += "            case \(value.number): self = .\(Naming.enumCase(value.name, prefix: prefix))\n"
        }
        out += "            default: self = .unrecognized(rawValue)\n            }\n        }\n\n"
        out += "        package var rawValue: Int32 {\n            switch self {\n"
        for value in enumeration.values {
            out += "            case .\(Naming.enumCase(value.name, prefix: prefix)): \(value.number)\n"
        }
        out += "            case .unrecognized(let value): value\n            }\n        }\n\n"
        out += "        /// The value's name in the .proto file, or its number when unknown.\n"
        out += "        package var protoName: String {\n            switch self {\n"
        for value in enumeration.values {
            out += "            case .\(Naming.enumCase(value.name, prefix: prefix)): \"\(value.name)\"\n"
        }
        out += "            case .unrecognized(let value): String(value)\n            }\n        }\n\n"
        out += "        /// The value's name lower-case without the enum's prefix, or its number when unknown.\n"
        out += "        package var shortName: String {\n            switch self {\n"
        for value in enumeration.values {
            out +=
                "            case .\(Naming.enumCase(value.name, prefix: prefix)): \"\(Naming.shortEnumName(value.name, prefix: prefix))\"\n"
        }
        out += "            case .unrecognized(let value): String(value)\n            }\n        }\n\n"
        let cases = enumeration.values.map { "." + Naming.enumCase($0.name, prefix: prefix) }
        out += "        package static let knownCases: [Self] = [\(cases.joined(separator: ", "))]\n"
        out += "    }\n}\n"
        return out
    }

    func messageDeclaration(_ message: ProtoMessage, namespace: String) -> String {
        var out = "extension \(namespace) {\n"
        out += docComment(message.comment, indent: "    ")
        out += "    package struct \(message.name): WireMessage {\n"
        out += "        package static let protoName = \"\(message.fullName)\"\n\n"
        var parameters: [String] = []
        var assignments: [String] = []
        var emittedOneofs: Set<Int> = []
        for field in message.fields {
            if let index = field.oneofIndex, !isPresenceOneof(message, index) {
                guard !emittedOneofs.contains(index) else { continue }
                emittedOneofs.insert(index)
                let oneofName = message.oneofs[index]
                let typeName = Naming.typeName(oneofName)
                let property = Naming.property(oneofName)
                out += "        /// One of the `\(oneofName)` fields, or none.\n"
                out += "        package enum \(typeName): Sendable, Hashable {\n"
                for member in oneofMembers(message, index) {
                    out += docComment(member.comment, indent: "            ")
                    out += "            case \(Naming.property(member.name))(\(swiftType(of: member)))\n"
                }
                out += "        }\n\n"
                out += "        package var \(property): \(typeName)? = nil\n"
                parameters.append("\(property): \(typeName)? = nil")
                assignments.append("self.\(property) = \(property)")
                continue
            }
            let property = Naming.property(field.name)
            var type = swiftType(of: field)
            var defaultValue = defaultValue(field)
            if field.oneofIndex != nil || (!field.repeated && isMessage(field.kind)) {
                if !type.hasSuffix("?") { type += "?" }
                defaultValue = "nil"
            }
            out += docComment(field.comment, indent: "        ")
            out += "        package var \(property): \(type) = \(defaultValue)\n"
            parameters.append("\(property): \(type) = \(defaultValue)")
            assignments.append("self.\(property) = \(property)")
        }
        if !parameters.isEmpty {
            out += "\n        package init() {}\n"
        }
        out += "\n        package init(\n"
        out += parameters.map { "            \($0)" }.joined(separator: ",\n")
        out += parameters.isEmpty ? "" : "\n"
        out += "        ) {\n"
        out += assignments.map { "            \($0)\n" }.joined()
        out += "        }\n    }\n}\n"
        return out
    }

    /// Whether `message`, or a message it holds at any depth, has a string field.
    func holdsStrings(_ message: ProtoMessage, visited: Set<String> = []) -> Bool {
        guard !visited.contains(message.fullName) else { return false }
        let visited = visited.union([message.fullName])
        return message.fields.contains { field in
            switch field.kind {
            case .string: return true
            case .message(let name): return messagesByName[name].map { holdsStrings($0, visited: visited) } ?? false
            default: return false
            }
        }
    }

    func isMessage(_ kind: ProtoField.Kind) -> Bool {
        if case .message = kind { return true }
        return false
    }

    func messageConversions(_ message: ProtoMessage) -> String {
        let swiftName = swiftType(message.fullName)
        let cType = Naming.cType(message.fullName)
        let prefix = Naming.cFunctionPrefix(message.fullName)
        var out = "extension \(swiftName) {\n"
        // Decoding.
        out += "    package init(decoding bytes: UnsafeRawBufferPointer) throws(WireError) {\n"
        out += "        // protobuf-c: unpack returns NULL on any malformed input; everything it returns is one\n"
        out += "        // tree (from a stack-backed allocator) released by free_unpacked when part of it came\n"
        out += "        // from malloc, so every field is copied out first.\n"
        out += "        self = try withWireDecodingAllocator { allocator throws(WireError) in\n"
        out += "            guard\n                let raw = \(prefix)__unpack(\n"
        out += "                    allocator, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))\n"
        out += "            else { throw WireError.malformed(message: Self.protoName, byteCount: bytes.count) }\n"
        out +=
            "            defer { if CProtobufC_bumpNeedsFree(allocator) { \(prefix)__free_unpacked(raw, allocator) } }\n"
        // Only a message with a string field somewhere in it can carry a NUL in one.
        if holdsStrings(message) {
            out += "            try wireRefuseNULStrings(raw, bytes, type: Self.protoName)\n"
        }
        out += "            return try Self(cMessage: raw.pointee)\n        }\n    }\n\n"
        out += "    package init(cMessage c: \(cType)) throws(WireError) {\n"
        out += "        self.init()\n"
        var emittedOneofs: Set<Int> = []
        for field in message.fields {
            let property = Naming.property(field.name)
            let cField = field.name
            if let index = field.oneofIndex {
                let oneofName = message.oneofs[index]
                if isPresenceOneof(message, index) {
                    out += "        if c.\(oneofName)_case.rawValue == \(field.number) {\n"
                    out +=
                        "            self.\(property) = \(decodeExpression(field.kind, "c.\(cField)", message: message, field: field))\n"
                    out += "        }\n"
                    continue
                }
                guard !emittedOneofs.contains(index) else { continue }
                emittedOneofs.insert(index)
                out += "        switch c.\(oneofName)_case.rawValue {\n"
                for member in oneofMembers(message, index) {
                    let value = decodeExpression(member.kind, "c.\(member.name)", message: message, field: member)
                    out +=
                        "        case \(member.number): self.\(Naming.property(oneofName)) = .\(Naming.property(member.name))(\(value))\n"
                }
                out += "        default: self.\(Naming.property(oneofName)) = nil\n        }\n"
                continue
            }
            if field.repeated {
                let element = decodeExpression(field.kind, "c.\(cField)[index]", message: message, field: field)
                out += "        self.\(property).reserveCapacity(c.n_\(cField))\n"
                out += "        for index in 0..<c.n_\(cField) {\n"
                out += "            self.\(property).append(\(element))\n        }\n"
            } else if isMessage(field.kind) {
                out += "        if c.\(cField) != nil {\n"
                out +=
                    "            self.\(property) = \(decodeExpression(field.kind, "c.\(cField)", message: message, field: field))\n"
                out += "        }\n"
            } else {
                out +=
                    "        self.\(property) = \(decodeExpression(field.kind, "c.\(cField)", message: message, field: field))\n"
            }
        }
        out += "    }\n\n"
        // Encoding: one function packs; `encode(into:)`, `serializedBytes()` and the frame writers
        // (WireMessage.swift, FrameLayout.swift) choose where the bytes go.
        out += "    package func withPacking(\n"
        out += "        _ body: (_ size: Int, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) -> Int\n"
        out += "    ) throws(WireError) -> Int {\n"
        out += "        try WireArena.with { (arena: inout WireArena) throws(WireError) in\n"
        out += "            // The INIT macro is not importable; the generated init function sets the descriptor.\n"
        out += "            var c = \(cType)()\n            \(prefix)__init(&c)\n"
        out += "            try fill(&c, &arena)\n"
        out += "            return body(\(prefix)__get_packed_size(&c)) { \(prefix)__pack(&c, $0) }\n"
        out += "        }\n    }\n\n"
        out +=
            "    package func cPointer(_ arena: inout WireArena) throws(WireError) -> UnsafeMutablePointer<\(cType)> {\n"
        out += "        let pointer = arena.allocate(\(cType).self, count: 1)\n"
        out += "        \(prefix)__init(pointer)\n"
        out += "        try fill(&pointer.pointee, &arena)\n"
        out += "        return pointer\n    }\n\n"
        out += "    /// Points `c`'s fields at copies owned by `arena`, valid until the arena is released.\n"
        out += "    package func fill(_ c: inout \(cType), _ arena: inout WireArena) throws(WireError) {\n"
        emittedOneofs = []
        for field in message.fields {
            let property = Naming.property(field.name)
            let cField = field.name
            if let index = field.oneofIndex {
                let oneofName = message.oneofs[index]
                if isPresenceOneof(message, index) {
                    out += "        if let value = self.\(property) {\n"
                    out += "            c.\(oneofName)_case = .init(rawValue: \(field.number))\n"
                    out +=
                        "            c.\(cField) = \(encodeExpression(field.kind, "value", message: message, field: field))\n"
                    out += "        }\n"
                    continue
                }
                guard !emittedOneofs.contains(index) else { continue }
                emittedOneofs.insert(index)
                out += "        switch self.\(Naming.property(oneofName)) {\n"
                for member in oneofMembers(message, index) {
                    out += "        case .\(Naming.property(member.name))(let value)?:\n"
                    out += "            c.\(oneofName)_case = .init(rawValue: \(member.number))\n"
                    out +=
                        "            c.\(member.name) = \(encodeExpression(member.kind, "value", message: message, field: member))\n"
                }
                out += "        case nil:\n            break\n        }\n"
                continue
            }
            if field.repeated {
                out += "        if !self.\(property).isEmpty {\n"
                out +=
                    "            let array = arena.allocate(\(cElementType(field.kind)).self, count: self.\(property).count)\n"
                out += "            for (index, element) in self.\(property).enumerated() {\n"
                out +=
                    "                array[index] = \(encodeExpression(field.kind, "element", message: message, field: field))\n"
                out += "            }\n"
                out += "            c.n_\(cField) = self.\(property).count\n"
                out += "            c.\(cField) = array\n        }\n"
            } else if isMessage(field.kind) {
                out += "        if let value = self.\(property) {\n"
                out +=
                    "            c.\(cField) = \(encodeExpression(field.kind, "value", message: message, field: field))\n"
                out += "        }\n"
            } else {
                out +=
                    "        c.\(cField) = \(encodeExpression(field.kind, "self.\(property)", message: message, field: field))\n"
            }
        }
        out += "    }\n}\n"
        return out
    }

    // MARK: - JSON

    /// The statement writing one value of `kind` (`value`, a Swift expression) to `json`.
    func jsonValue(_ kind: ProtoField.Kind, _ value: String) -> String {
        switch kind {
        case .double: "json.double(\(value))"
        case .float: "json.float(\(value))"
        case .int64, .sfixed64, .sint64, .uint64, .fixed64: "json.int64(\(value))"
        case .int32, .sfixed32, .sint32, .uint32, .fixed32: "json.int32(\(value))"
        case .bool: "json.bool(\(value))"
        case .string: "json.string(\(value))"
        case .bytes: "json.bytes(\(value))"
        case .enumeration: "json.enumeration(\(value), options)"
        case .message: "\(value).writeJSON(to: &json, options: options)"
        }
    }

    /// Whether a value of `kind` (`value`) is at its default, which proto3's mapping leaves out.
    func isDefault(_ kind: ProtoField.Kind, _ value: String) -> String {
        switch kind {
        case .bool: "!\(value)"
        case .string, .bytes: "\(value).isEmpty"
        case .enumeration: "\(value).rawValue == 0"
        case .message: "false"
        default: "\(value) == 0"
        }
    }

    /// `writeJSON(to:options:)` for `message`: proto3's JSON mapping.
    func messageJSON(_ message: ProtoMessage) -> String {
        var out = "extension \(swiftType(message.fullName)) {\n"
        out += "    package func writeJSON(to json: inout JSONWriter, options: JSONOptions) {\n"
        out += "        json.beginObject()\n"
        var emittedOneofs: Set<Int> = []
        for field in message.fields {
            let property = Naming.property(field.name)
            let key = Naming.jsonName(field.name)
            if let index = field.oneofIndex, !isPresenceOneof(message, index) {
                guard !emittedOneofs.contains(index) else { continue }
                emittedOneofs.insert(index)
                let oneofName = message.oneofs[index]
                out += "        switch self.\(Naming.property(oneofName)) {\n"
                for member in oneofMembers(message, index) {
                    out += "        case .\(Naming.property(member.name))(let value)?:\n"
                    out += "            json.key(\"\(Naming.jsonName(member.name))\")\n"
                    out += "            \(jsonValue(member.kind, "value"))\n"
                }
                out += "        case nil:\n            break\n        }\n"
                continue
            }
            if field.oneofIndex != nil || (!field.repeated && isMessage(field.kind)) {
                // Present or absent: written exactly when present.
                out += "        if let value = self.\(property) {\n"
                out += "            json.key(\"\(key)\")\n"
                out += "            \(jsonValue(field.kind, "value"))\n"
                out += "        }\n"
            } else if field.repeated {
                out += "        if options.includeDefaults || !self.\(property).isEmpty {\n"
                out += "            json.key(\"\(key)\")\n"
                out += "            json.beginArray()\n"
                out += "            for element in self.\(property) { \(jsonValue(field.kind, "element")) }\n"
                out += "            json.endArray()\n"
                out += "        }\n"
            } else {
                out += "        if options.includeDefaults || !(\(isDefault(field.kind, "self.\(property)"))) {\n"
                out += "            json.key(\"\(key)\")\n"
                out += "            \(jsonValue(field.kind, "self.\(property)"))\n"
                out += "        }\n"
            }
        }
        out += "        json.endObject()\n"
        out += "    }\n}\n"
        return out
    }

    func serviceDeclaration(_ service: ProtoService, namespace: String) -> String {
        var out = "extension \(namespace) {\n"
        out += docComment(service.comment, indent: "    ")
        out += "    package enum \(service.name) {\n"
        out += "        package static let name = \"\(service.fullName)\"\n"
        for method in service.methods {
            let kind: String
            switch (method.clientStreaming, method.serverStreaming) {
            case (false, false): kind = "unary"
            case (false, true): kind = "serverStreaming"
            case (true, false): kind = "clientStreaming"
            case (true, true): kind = "bidirectionalStreaming"
            }
            out += "\n" + docComment(method.comment, indent: "        ")
            out += "        package static let \(Naming.property(Naming.camelToLower(method.name))) = WireMethod<"
            out += "\(swiftType(method.inputType)), \(swiftType(method.outputType))>(\n"
            out += "            service: name, method: \"\(method.name)\", kind: .\(kind))\n"
        }
        let methods = service.methods.map { Naming.property(Naming.camelToLower($0.name)) + ".description" }
        out += "\n        /// Every method of the service, for registration and listing.\n"
        out += "        package static let methods: [WireMethodDescription] = [\n"
        out += methods.map { "            \($0),\n" }.joined()
        out += "        ]\n    }\n}\n"
        return out
    }
}
