import Foundation
import IdentityNumbers
import SanlianCLI
import SanlianTestHarness
import Testing

/// `sanlian residents …` in-process, against real broker and sanlian-residents processes.
@Suite("sanlian residents commands, in-process against the broker and the residents service", .timeLimit(.minutes(3)))
struct ResidentsCommandTests {
    static func id(_ first17: String) -> String {
        first17 + String(IdentityNumber.checkDigit(first17.map { Int(String($0))! }))
    }

    @discardableResult
    static func ok(_ township: Township, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async
        -> (output: String, error: String)
    {
        let result = await sanlian(township, ["residents"] + arguments)
        #expect(result.status == 0, "\(arguments): \(result.error)", sourceLocation: sourceLocation)
        return (result.output, result.error)
    }

    static func withResidents(_ body: @escaping @Sendable (Township) async throws -> Void) async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-residents") { _ in try await body(township) }
        }
    }

    @Test(
        "import people, households and workplaces: bad rows listed with their lines and nothing imported; then all, with progress; again, nothing changes"
    )
    func importFiles() async throws {
        try await Self.withResidents { township in
            let head = Self.id("51168119700101001")
            let spouse = Self.id("51168119720202002")
            let worker = Self.id("51168119950303003")
            let people = township.root + "/people.csv"
            let households = township.root + "/households.csv"
            let workplaces = township.root + "/workplaces.csv"
            try
                "id_number,name,phone,residence,village_code,village_group\n\(head),王大山,13812345601,registered,511681104201,一组\n\(spouse),李小花,,registered,511681104201,一组\n51168119950303009,赵工,,floating,,\n"
                .write(toFile: people, atomically: true, encoding: .utf8)
            try
                "household_id,head_id_number,address,village_code,members\nH001,\(head),一组 3 号,511681104201,\(spouse):spouse\n"
                .write(toFile: households, atomically: true, encoding: .utf8)
            try "id_number,enterprise,dormitory\n\(worker),E001,yes\n".write(
                toFile: workplaces,
                atomically: true,
                encoding: .utf8
            )
            let refused = await sanlian(
                township,
                ["residents", "import", "--people", people, "--households", households]
            )
            #expect(refused.status != 0)
            #expect(refused.output.contains("4     id_number"), "the row with the bad check digit: \(refused.output)")
            #expect(refused.error.contains("nothing was imported"), "\(refused.error)")
            #expect(await Self.ok(township, ["search", "--json"]).output == "[]\n")

            try
                "id_number,name,phone,residence,village_code,village_group\n\(head),王大山,13812345601,registered,511681104201,一组\n\(spouse),李小花,,registered,511681104201,一组\n\(worker),赵工,,floating,,\n"
                .write(toFile: people, atomically: true, encoding: .utf8)
            let imported = await Self.ok(
                township,
                ["import", "--people", people, "--households", households, "--workplaces", workplaces, "--chunk", "2"]
            )
            #expect(imported.output.contains("imported: 5 added, 0 changed, 0 already so"), "\(imported.output)")
            #expect(
                imported.error.contains("sent 2 of 5 rows") && imported.error.contains("sent 5 of 5 rows"),
                "\(imported.error)"
            )
            let again = await Self.ok(
                township,
                ["import", "--people", people, "--households", households, "--workplaces", workplaces]
            )
            #expect(again.output.contains("0 added, 0 changed, 5 already so"), "\(again.output)")
            let workers = await Self.ok(township, ["workers", "E001"])
            #expect(workers.output.contains("赵工") && workers.output.contains("dormitory: E001"), "\(workers.output)")
            let household = await Self.ok(township, ["household", "show", "H001"])
            #expect(household.output.contains("spouse"), "\(household.output)")
        }
    }

    @Test("a person shown masked, then unmasked with a purpose (audited); window services' rates for the month")
    func personAndWindow() async throws {
        try await Self.withResidents { township in
            let wang = Self.id("51168119850612123")
            let governance = ["--operator", "gov-01"]
            await Self.ok(
                township,
                ["person", "add", "--id", wang, "--name", "王大山", "--phone", "13812345601", "--village", "511681104201"]
            )
            let masked = await sanlian(township, ["residents", "person", "show", wang] + governance)
            #expect(masked.status != 0, "governance may not read people: \(masked.error)")
            let shown = await Self.ok(township, ["person", "show", wang])
            #expect(shown.output.contains("511681********") && shown.output.contains("138****5601"), "\(shown.output)")
            let refused = await sanlian(township, ["residents", "person", "show", wang, "--unmask"])
            #expect(refused.error.contains("purpose"), "\(refused.error)")
            let unmasked = await Self.ok(township, ["person", "show", wang, "--unmask", "--purpose", "办理身份证"])
            #expect(unmasked.output.contains(wang), "\(unmasked.output)")
            let audit = await Self.ok(township, ["audit"])
            #expect(audit.output.contains("办理身份证") && audit.output.split(separator: "\n").count == 2, "\(audit.output)")

            await Self.ok(
                township,
                [
                    "window", "record", "--id", "w1", "--business", "id_card", "--received", "2026-12-07 09:00",
                    "--finished", "2026-12-07 09:10",
                ]
            )
            await Self.ok(
                township,
                [
                    "window", "record", "--id", "w2", "--business", "household_transfer", "--received",
                    "2026-12-07 10:00",
                ]
            )
            await Self.ok(township, ["window", "record", "--id", "w2", "--finished", "2026-12-07 15:00"])
            let rates = await Self.ok(township, ["window", "rates", "--month", "2026-12"])
            #expect(
                rates.output.contains("2 received, 50.0% finished on the spot, 100.0% the same day, 0 unfinished"),
                "\(rates.output)"
            )
        }
    }
}
