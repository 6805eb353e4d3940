// sanlian-protogen: generates the Swift message layer (Sources/SanlianWire/Generated) and its test
// samples from the FileDescriptorSet protoc writes for proto/. scripts/generate.sh runs it.
import Foundation

let usage = """
    usage: sanlian-protogen --descriptor-set FILE --messages-out DIR --services-out DIR --samples-out DIR
                            [--contract PROTO=MODULE:DIR:CMODULE ...]

    Reads FILE, a FileDescriptorSet written by `protoc --include_source_info --descriptor_set_out`,
    and writes one Swift file per .proto into --messages-out (its messages, enums and JSON
    mapping), one per .proto declaring services into --services-out (a protocol to implement, its
    registration and a typed client per service), and the round-trip samples into --samples-out.
    A .proto named by --contract (a department's, e.g. patrol.proto=PatrolContract:Sources/
    PatrolContract/Generated:CPatrolProto) goes, messages and services, into its own module MODULE
    in DIR, over its protoc-c output in CMODULE, so that what does not use it (the broker) does
    not build it. Files are only rewritten when their content changes.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sanlian-protogen: \(message)\n".utf8))
    exit(1)
}

var options: [String: String] = [:]
var contracts: [String: Contract] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--help" || argument == "-h" {
        print(usage)
        exit(0)
    }
    guard ["--descriptor-set", "--messages-out", "--services-out", "--samples-out", "--contract"].contains(argument)
    else {
        fail("unknown argument \(argument)\n\(usage)")
    }
    guard let value = arguments.popFirst() else { fail("\(argument) needs a value") }
    if argument == "--contract" {
        let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
        let places = parts.count == 2 ? parts[1].split(separator: ":").map(String.init) : []
        guard places.count == 3 else { fail("--contract \(value): expected PROTO=MODULE:DIR:CMODULE") }
        contracts[parts[0]] = Contract(module: places[0], directory: places[1], cModule: places[2])
    } else {
        options[argument] = value
    }
}
guard let setPath = options["--descriptor-set"], let messagesOut = options["--messages-out"],
    let servicesOut = options["--services-out"], let samplesOut = options["--samples-out"]
else { fail("missing arguments\n\(usage)") }

guard let data = FileManager.default.contents(atPath: setPath) else { fail("cannot read \(setPath)") }

func write(_ text: String, to path: String) {
    if FileManager.default.contents(atPath: path) == Data(text.utf8) { return }
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    } catch {
        fail("cannot write \(path): \(error)")
    }
}

do {
    let files = try readDescriptorSet([UInt8](data))
    let emitter = SwiftEmitter(files: files, contracts: contracts)
    write(emitter.namespacesFile(), to: messagesOut + "/Namespaces.pb.swift")
    let services = ServiceEmitter(emitter: emitter)
    for file in files {
        let base = (file.name as NSString).deletingPathExtension
        let contract = contracts[file.name]
        write(emitter.swiftFile(for: file), to: (contract?.directory ?? messagesOut) + "/\(base).pb.swift")
        if let text = services.swiftFile(for: file) {
            write(text, to: (contract?.directory ?? servicesOut) + "/\(base).services.swift")
        }
    }
    write(SampleEmitter(emitter: emitter).file(), to: samplesOut + "/Samples.pb.swift")
} catch {
    fail("\(error)")
}
