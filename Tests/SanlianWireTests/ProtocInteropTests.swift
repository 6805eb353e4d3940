import Foundation
import HazardsContract
import PatrolContract
import ResidentsContract
import SanlianWire
import Testing

/// Checks the Swift layer against an independent protobuf implementation: protoc (the C++
/// library) decodes what Swift encodes, and Swift decodes what protoc encodes.
@Suite("Interoperability with protoc", .timeLimit(.minutes(1)))
struct ProtocInteropTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let typeName: String
        let protoFile: String
        /// protoc's text format, exactly as `protoc --decode` prints it, with UTF-8 unescaped.
        let text: String
        let encode: @Sendable () throws -> [UInt8]
        let decodeAndCompare: @Sendable ([UInt8]) throws -> Bool
        var testDescription: String { typeName }

        init<M: WireMessage>(_ value: M, file: String, text: String) {
            typeName = M.protoName
            protoFile = file
            self.text = text
            encode = { try value.serializedBytes() }
            decodeAndCompare = { bytes in try M(serializedBytes: bytes) == value }
        }
    }

    static let cases: [Case] = [
        Case(
            RPCV1.Frame(
                callID: 3,
                kind: .start(
                    RPCV1.CallStart(
                        method: "/sanlian.patrol.v1.Roster/GetVolunteer",
                        timeoutMicros: 5_000_000,
                        metadata: [RPCV1.MetadataEntry(key: "sanlian-operator", value: "警号 0421")],
                        payload: [0x0A, 0x02, 0x76, 0x31],
                        halfClose: true
                    )
                )
            ),
            file: "rpc.proto",
            text: """
                call_id: 3
                start {
                  method: "/sanlian.patrol.v1.Roster/GetVolunteer"
                  timeout_micros: 5000000
                  metadata {
                    key: "sanlian-operator"
                    value: "警号 0421"
                  }
                  payload: "\\n\\002v1"
                  half_close: true
                }

                """
        ),
        Case(
            BrokerV1.PublishAlertRequest(
                alert: AlertV1.Alert(
                    identifier: "hazards-2026-000123",
                    senderDepartment: "traffic",
                    sentUnixMs: 1_795_000_000_000,
                    status: .exercise,
                    msgType: .alert,
                    subject: "alert.hazards.traffic",
                    category: .traffic,
                    urgency: .immediate,
                    severity: .severe,
                    certainty: .observed,
                    area: CommonV1.Place(villageCode: "511681104201", villageGroup: "三组", latitudeMicro: -1),
                    headline: "G318 道路塌方",
                    references: ["hazards-2026-000100"],
                    fingerprint: "traffic:511681104201:road_collapse"
                )
            ),
            file: "broker.proto",
            text: """
                alert {
                  identifier: "hazards-2026-000123"
                  sender_department: "traffic"
                  sent_unix_ms: 1795000000000
                  status: ALERT_STATUS_EXERCISE
                  msg_type: MESSAGE_TYPE_ALERT
                  subject: "alert.hazards.traffic"
                  category: CATEGORY_TRAFFIC
                  urgency: URGENCY_IMMEDIATE
                  severity: SEVERITY_SEVERE
                  certainty: CERTAINTY_OBSERVED
                  area {
                    village_code: "511681104201"
                    village_group: "三组"
                    latitude_micro: -1
                  }
                  headline: "G318 道路塌方"
                  references: "hazards-2026-000100"
                  fingerprint: "traffic:511681104201:road_collapse"
                }

                """
        ),
        Case(
            PatrolV1.Volunteer(
                id: "v-7",
                name: "王建国",
                phone: "13800000000",
                kind: .veteran,
                skills: ["first_aid", "driving"],
                villageCode: "511681104201",
                active: true
            ),
            file: "patrol.proto",
            text: """
                id: "v-7"
                name: "王建国"
                phone: "13800000000"
                kind: VOLUNTEER_KIND_VETERAN
                skills: "first_aid"
                skills: "driving"
                village_code: "511681104201"
                active: true

                """
        ),
        Case(
            HazardsV1.Dispute(
                id: "d-2018-07",
                category: .publicOrder,
                grade: .simple,
                gradeReason: "财物损失小，当事人为未成年人",
                channel: .policeAdministrative,
                state: .resolved,
                parties: [
                    HazardsV1.Party(name: "葡萄园业主", role: "complainant"),
                    HazardsV1.Party(name: "未成年人家长", role: "guardian"),
                ],
                complaint: "葡萄被盗，围栏损坏"
            ),
            file: "hazards.proto",
            text: """
                id: "d-2018-07"
                category: DISPUTE_CATEGORY_PUBLIC_ORDER
                grade: DISPUTE_GRADE_SIMPLE
                grade_reason: "财物损失小，当事人为未成年人"
                channel: MEDIATION_CHANNEL_POLICE_ADMINISTRATIVE
                state: DISPUTE_STATE_RESOLVED
                parties {
                  name: "葡萄园业主"
                  role: "complainant"
                }
                parties {
                  name: "未成年人家长"
                  role: "guardian"
                }
                complaint: "葡萄被盗，围栏损坏"

                """
        ),
        Case(
            ResidentsV1.Person(
                idNumber: "11010519491231002X",
                name: "李秀英",
                sex: .female,
                birthDate: "1949-12-31",
                residence: .floating,
                livesAt: CommonV1.Place(villageCode: "511681104201", description: "企业宿舍 3 栋"),
                present: true
            ),
            file: "residents.proto",
            text: """
                id_number: "11010519491231002X"
                name: "李秀英"
                sex: SEX_FEMALE
                birth_date: "1949-12-31"
                residence: RESIDENCE_KIND_FLOATING
                lives_at {
                  village_code: "511681104201"
                  description: "企业宿舍 3 栋"
                }
                present: true

                """
        ),
        Case(
            HealthV1.HealthCheckResponse(status: .serving),
            file: "health.proto",
            text: "status: SERVING\n"
        ),
    ]

    @Test("protoc --decode reads what Swift encodes", arguments: cases)
    func protocDecodesSwift(_ testCase: Case) throws {
        let output = try Self.protoc(["--decode=\(testCase.typeName)", testCase.protoFile], input: testCase.encode())
        #expect(Self.unescapeOctal(output) == testCase.text)
    }

    @Test("Swift decodes what protoc --encode writes", arguments: cases)
    func swiftDecodesProtoc(_ testCase: Case) throws {
        let bytes = try Self.protoc(
            ["--encode=\(testCase.typeName)", testCase.protoFile],
            input: Array(testCase.text.utf8)
        )
        #expect(try testCase.decodeAndCompare(bytes))
    }

    static let protoDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("proto")

    static func protoc(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["protoc", "--proto_path=\(protoDirectory.path)"] + arguments
        process.currentDirectoryURL = protoDirectory
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(
            process.terminationStatus == 0,
            "protoc \(arguments) failed: \(String(decoding: errors, as: UTF8.self))"
        )
        return [UInt8](output)
    }

    /// protoc's text format writes non-ASCII bytes as octal escapes (\351\201\223); turn those
    /// back into bytes so expectations can be written in Chinese. Other escapes stay as they are.
    static func unescapeOctal(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        func isOctal(_ byte: UInt8) -> Bool { (0x30...0x37).contains(byte) }
        while index < bytes.count {
            if bytes[index] == 0x5C, index + 3 < bytes.count, isOctal(bytes[index + 1]), isOctal(bytes[index + 2]),
                isOctal(bytes[index + 3])
            {
                let value =
                    (Int(bytes[index + 1]) - 0x30) * 64 + (Int(bytes[index + 2]) - 0x30) * 8
                    + (Int(bytes[index + 3]) - 0x30)
                if value >= 0x80 {
                    out.append(UInt8(value))
                    index += 4
                    continue
                }
            }
            if bytes[index] == 0x5C, index + 1 < bytes.count {
                out.append(contentsOf: bytes[index...index + 1])
                index += 2
                continue
            }
            out.append(bytes[index])
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
