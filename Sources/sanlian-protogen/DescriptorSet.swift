import CProtoDescriptor
import CProtobufC

/// The parts of protoc's `FileDescriptorSet` the generator uses, copied out of protobuf-c's C tree
/// into Swift values.
struct ProtoFile {
    var name: String
    var package: String
    var messages: [ProtoMessage]
    var enums: [ProtoEnum]
    var services: [ProtoService]
}

struct ProtoMessage {
    var name: String
    var fullName: String
    var fields: [ProtoField]
    var oneofs: [String]
    var comment: String
}

struct ProtoField {
    enum Kind: Equatable {
        case double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes, uint32, sfixed32,
            sfixed64, sint32, sint64
        case message(String)
        case enumeration(String)
    }

    var name: String
    var number: Int32
    var kind: Kind
    var repeated: Bool
    var oneofIndex: Int?
    var comment: String
}

struct ProtoEnum {
    var name: String
    var fullName: String
    var values: [(name: String, number: Int32, comment: String)]
    var comment: String
}

struct ProtoService {
    var name: String
    var fullName: String
    var methods: [ProtoMethod]
    var comment: String
}

struct ProtoMethod {
    var name: String
    var inputType: String
    var outputType: String
    var clientStreaming: Bool
    var serverStreaming: Bool
    var comment: String
}

struct GeneratorError: Error, CustomStringConvertible {
    var description: String
}

/// Reads a serialized `google.protobuf.FileDescriptorSet` (as `protoc --descriptor_set_out
/// --include_source_info` writes it).
func readDescriptorSet(_ bytes: [UInt8]) throws -> [ProtoFile] {
    // protobuf-c: "returns NULL if an error occurred during unpacking".
    guard
        let set = bytes.withUnsafeBufferPointer({
            google__protobuf__file_descriptor_set__unpack(nil, $0.count, $0.baseAddress)
        })
    else {
        throw GeneratorError(description: "the descriptor set (\(bytes.count) bytes) is not a FileDescriptorSet")
    }
    defer { google__protobuf__file_descriptor_set__free_unpacked(set, nil) }
    return try buffer(set.pointee.file, set.pointee.n_file).map { try readFile($0!.pointee) }
}

private func buffer<T>(_ base: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
    UnsafeBufferPointer(start: base, count: count)
}

/// proto2 strings are NULL when absent.
private func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}

private func readFile(_ file: Google__Protobuf__FileDescriptorProto) throws -> ProtoFile {
    let name = text(file.name)
    let package = text(file.package)
    if text(file.syntax) != "proto3" {
        throw GeneratorError(description: "\(name): only proto3 files are supported")
    }
    var comments: [[Int32]: String] = [:]
    if let info = file.source_code_info {
        for location in buffer(info.pointee.location, info.pointee.n_location) {
            let path = Array(buffer(location!.pointee.path, location!.pointee.n_path))
            comments[path] = text(location!.pointee.leading_comments)
        }
    }
    let prefix = package.isEmpty ? "" : package + "."
    var messages: [ProtoMessage] = []
    for (index, message) in buffer(file.message_type, file.n_message_type).enumerated() {
        let m = message!.pointee
        let messageName = text(m.name)
        if m.n_nested_type > 0 || m.n_enum_type > 0 {
            throw GeneratorError(
                description: "\(name): \(messageName) declares nested types; declare them at the top level"
            )
        }
        var fields: [ProtoField] = []
        for (fieldIndex, field) in buffer(m.field, m.n_field).enumerated() {
            let f = field!.pointee
            let fieldName = text(f.name)
            if f.has_proto3_optional != 0 && f.proto3_optional != 0 {
                throw GeneratorError(
                    description: "\(name): \(messageName).\(fieldName) is proto3 optional, which protoc-c 1.4.1 rejects"
                )
            }
            fields.append(
                ProtoField(
                    name: fieldName,
                    number: f.number,
                    kind: try fieldKind(f, where: "\(name): \(messageName).\(fieldName)"),
                    repeated: f.label.rawValue == 3,
                    oneofIndex: f.has_oneof_index != 0 ? Int(f.oneof_index) : nil,
                    comment: comments[[4, Int32(index), 2, Int32(fieldIndex)]] ?? ""
                )
            )
        }
        messages.append(
            ProtoMessage(
                name: messageName,
                fullName: prefix + messageName,
                fields: fields,
                oneofs: buffer(m.oneof_decl, m.n_oneof_decl).map { text($0!.pointee.name) },
                comment: comments[[4, Int32(index)]] ?? ""
            )
        )
    }
    var enums: [ProtoEnum] = []
    for (index, enumeration) in buffer(file.enum_type, file.n_enum_type).enumerated() {
        let e = enumeration!.pointee
        let values = buffer(e.value, e.n_value).enumerated().map { valueIndex, value in
            (
                name: text(value!.pointee.name), number: value!.pointee.number,
                comment: comments[[5, Int32(index), 2, Int32(valueIndex)]] ?? ""
            )
        }
        enums.append(
            ProtoEnum(
                name: text(e.name),
                fullName: prefix + text(e.name),
                values: values,
                comment: comments[[5, Int32(index)]] ?? ""
            )
        )
    }
    var services: [ProtoService] = []
    for (index, service) in buffer(file.service, file.n_service).enumerated() {
        let s = service!.pointee
        let methods = buffer(s.method, s.n_method).enumerated().map { methodIndex, method in
            let m = method!.pointee
            return ProtoMethod(
                name: text(m.name),
                inputType: String(text(m.input_type).dropFirst()),
                outputType: String(text(m.output_type).dropFirst()),
                clientStreaming: m.has_client_streaming != 0 && m.client_streaming != 0,
                serverStreaming: m.has_server_streaming != 0 && m.server_streaming != 0,
                comment: comments[[6, Int32(index), 2, Int32(methodIndex)]] ?? ""
            )
        }
        services.append(
            ProtoService(
                name: text(s.name),
                fullName: prefix + text(s.name),
                methods: methods,
                comment: comments[[6, Int32(index)]] ?? ""
            )
        )
    }
    return ProtoFile(name: name, package: package, messages: messages, enums: enums, services: services)
}

private func fieldKind(_ field: Google__Protobuf__FieldDescriptorProto, where location: String) throws
    -> ProtoField.Kind
{
    // FieldDescriptorProto.Type numbers, from descriptor.proto.
    switch field.type.rawValue {
    case 1: return .double
    case 2: return .float
    case 3: return .int64
    case 4: return .uint64
    case 5: return .int32
    case 6: return .fixed64
    case 7: return .fixed32
    case 8: return .bool
    case 9: return .string
    case 11: return .message(String(text(field.type_name).dropFirst()))
    case 12: return .bytes
    case 13: return .uint32
    case 14: return .enumeration(String(text(field.type_name).dropFirst()))
    case 15: return .sfixed32
    case 16: return .sfixed64
    case 17: return .sint32
    case 18: return .sint64
    default:
        throw GeneratorError(description: "\(location): field type \(field.type.rawValue) (groups) is not supported")
    }
}
