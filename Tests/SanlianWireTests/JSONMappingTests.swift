import Foundation
import SanlianTestHarness
import SanlianWire
import Testing

/// The generated JSON mapping against protobuf's own (`google.protobuf.json_format`, Debian's
/// python3-protobuf), for every sample of every message of every contract: the same JSON value
/// (lowerCamel names, 64-bit integers and bytes as strings, enum values by name, unknown ones by
/// number, defaults written when asked).
@Suite("JSON mapping against protobuf's json_format", .timeLimit(.minutes(2)))
struct JSONMappingTests {
    /// protobuf's JSON of each message: `{"type": …, "json": …}` per line of input.
    static let script = """
        import sys, json
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, json_format
        files = descriptor_pb2.FileDescriptorSet()
        files.ParseFromString(open(sys.argv[1], 'rb').read())
        pool = descriptor_pool.DescriptorPool()
        for f in files.file:
            pool.Add(f)
        factory = message_factory.MessageFactory(pool)
        for line in sys.stdin:
            name, path, defaults = line.split()
            message = factory.GetPrototype(pool.FindMessageTypeByName(name))()
            message.ParseFromString(open(path, 'rb').read())
            text = json_format.MessageToJson(message, including_default_value_fields=(defaults == '1'))
            print(json.dumps({'path': path, 'json': json.loads(text)}))
        """

    @Test("every sample of every message, with and without defaults")
    func everyMessage() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            Issue.record("Debian's python3 is missing: `make deps` installs it with python3-protobuf")
            return
        }
        let directory = try TemporaryDirectory()
        let descriptors = directory.path + "/set.pb"
        let protoDirectory = Township.repositoryRoot + "/proto"
        let protoFiles = try FileManager.default.contentsOfDirectory(atPath: protoDirectory).filter {
            $0.hasSuffix(".proto")
        }
        let protoc = Process()
        protoc.executableURL = URL(fileURLWithPath: "/usr/bin/protoc")
        protoc.currentDirectoryURL = URL(fileURLWithPath: protoDirectory)
        protoc.arguments = ["--include_imports", "--descriptor_set_out=\(descriptors)"] + protoFiles
        try protoc.run()
        protoc.waitUntilExit()
        try #require(protoc.terminationStatus == 0)

        var input = ""
        var ours: [String: String] = [:]
        var index = 0
        for sampleCase in generatedSampleCases {
            for (bytes, jsonWithDefaults, jsonWithout) in try sampleCase.jsonSamples() {
                for (defaults, json) in [(true, jsonWithDefaults), (false, jsonWithout)] {
                    let path = directory.path + "/\(index).bin"
                    index += 1
                    try Data(bytes).write(to: URL(fileURLWithPath: path))
                    input += "\(sampleCase.protoName) \(path) \(defaults ? 1 : 0)\n"
                    ours[path] = json
                }
            }
        }
        // Files, not pipes: a pipe holds 64 KiB, and writing all of the input before reading any of
        // the output would wait forever once both are fuller than that.
        let inputPath = directory.path + "/input.txt"
        let outputPath = directory.path + "/output.jsonl"
        let errorsPath = directory.path + "/errors.txt"
        try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", Self.script, descriptors]
        python.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath))
        python.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        python.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        try python.run()
        python.waitUntilExit()
        let output = try Data(contentsOf: URL(fileURLWithPath: outputPath))
        let errors = try Data(contentsOf: URL(fileURLWithPath: errorsPath))
        try #require(python.terminationStatus == 0, "\(String(decoding: errors, as: UTF8.self))")

        var compared = 0
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let record = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let path = try #require(record["path"] as? String)
            let theirs = record["json"] ?? [:]
            let mine = try JSONSerialization.jsonObject(with: Data(try #require(ours[path]).utf8))
            #expect(Self.equal(mine, theirs), "\(path): ours \(ours[path]!)\nprotobuf's \(line)")
            compared += 1
        }
        #expect(compared == ours.count && compared > 100)
    }

    /// JSON values equal, numbers within a float's precision (a `float` field prints shorter here).
    static func equal(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (let a as [String: Any], let b as [String: Any]):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        case (let a as [Any], let b as [Any]):
            return a.count == b.count && zip(a, b).allSatisfy(equal)
        case (let a as NSNumber, let b as NSNumber):
            let x = a.doubleValue
            let y = b.doubleValue
            return x == y || abs(x - y) <= 1e-6 * max(abs(x), abs(y))
        case (let a as String, let b as String):
            return a == b
        case (is NSNull, is NSNull):
            return true
        default:
            return false
        }
    }
}
