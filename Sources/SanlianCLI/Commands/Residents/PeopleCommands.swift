import ArgumentParser
import CSV
import Foundation
import ResidentsContract
import SanlianClock
import SanlianRPC
import SanlianWire

/// `sanlian residents person …`.
struct PersonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person",
        abstract: "Register, change and show a person.",
        subcommands: [Add.self, Show.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a person, or change one (sex and birth date come from the ID number)."
        )
        @Option(name: .customLong("id"), help: "The 18-character ID number.") var idNumber: String
        @Option(help: "Name.") var name: String
        @Option(help: "Mobile number.") var phone: String = ""
        @Option(help: "Household registration address.") var address: String = ""
        @Flag(help: "Floating population (流动人口) rather than registered here.") var floating = false
        @Option(help: "The 12-digit village the person lives in.") var village: String = ""
        @Option(help: "The village group the person lives in.") var group: String = ""
        @Option(help: "The enterprise the person works for.") var enterprise: String = ""
        @Option(help: "The enterprise whose dormitory the person lives in.") var dormitory: String = ""
        @Option(help: "The household's id.") var household: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let person = ResidentsV1.Person(
                idNumber: idNumber,
                name: name,
                phone: phone,
                registrationAddress: address,
                residence: floating ? .floating : .registered,
                livesAt: village.isEmpty ? nil : CommonV1.Place(villageCode: village, villageGroup: group),
                enterprise: enterprise,
                householdID: household,
                present: true,
                dormitoryEnterprise: dormitory
            )
            let stored = try await ResidentsCommand.Session.run(connection) {
                try await $0.population.upsertPerson(ResidentsV1.UpsertPersonRequest(person: person))
            }
            if json { return Output.json(stored) }
            Console.current.line(Labels.text("已保存 \(stored.idNumber)", "saved \(stored.idNumber)"))
            if !stored.warning.isEmpty { Console.current.note(Labels.text("注意：", "warning: ") + stored.warning) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a person (masked unless asked with a purpose).")
        @Argument(help: "The ID number.") var idNumber: String
        @Flag(help: "Show the ID number and phone unmasked (needs the grant and --purpose; audited).") var unmask =
            false
        @Option(help: "Why the unmasked data is needed.") var purpose: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.GetPersonRequest(idNumber: idNumber, purpose: purpose, unmask: unmask)
            let (person, time) = try await ResidentsCommand.Session.run(connection) { session in
                (try await session.population.getPerson(request), session.time)
            }
            if json { return Output.json(person) }
            let rows: [(String, String)] = [
                (Labels.text("身份证号", "ID number"), person.idNumber),
                (Labels.text("姓名", "name"), person.name),
                (Labels.text("性别", "sex"), person.sex == .male ? Labels.text("男", "male") : Labels.text("女", "female")),
                (Labels.text("出生日期", "born"), person.birthDate),
                (Labels.text("电话", "phone"), person.phone),
                (Labels.text("户籍地址", "registered at"), person.registrationAddress),
                (
                    Labels.text("类别", "residence"),
                    person.residence == .floating ? Labels.text("流动人口", "floating") : Labels.text("户籍人口", "registered")
                ),
                (
                    Labels.text("居住", "lives in"),
                    [person.livesAt?.villageCode, person.livesAt?.villageGroup].compactMap { $0 }.filter { !$0.isEmpty }
                        .joined(separator: " ")
                ),
                (Labels.text("宿舍", "dormitory of"), person.dormitoryEnterprise),
                (Labels.text("工作单位", "works for"), person.enterprise),
                (Labels.text("户", "household"), person.householdID),
                (Labels.text("在册", "present"), person.present ? Labels.text("是", "yes") : Labels.text("否", "no")),
                (Labels.text("最近确认", "last confirmed"), LocalTime.format(person.lastConfirmedUnixMs, time)),
                (Labels.text("迁移办理中", "locked by transfer"), person.lockedByTransfer),
                (Labels.text("已合并", "merged"), person.mergedIDNumbers.joined(separator: ", ")),
            ]
            for (label, value) in rows where !value.isEmpty { Console.current.line(label + ": " + value) }
        }
    }
}

/// `sanlian residents household …`.
struct HouseholdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "household",
        abstract: "Register, show and list households (户).",
        subcommands: [Add.self, Show.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a household, or change one: its head and members (registered people)."
        )
        @Argument(help: "The household's id.") var id: String
        @Option(help: "The head's ID number.") var head: String
        @Option(
            name: .customLong("member"),
            help: "A member: ID number and relationship, e.g. 5116…:spouse (repeatable)."
        )
        var members: [String] = []
        @Option(help: "Address.") var address: String = ""
        @Option(help: "12-digit village code.") var village: String = ""
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let household = ResidentsV1.Household(
                id: id,
                headIDNumber: head,
                address: address,
                villageCode: village,
                members: try members.map { text in
                    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else {
                        throw ValidationError("--member: \"\(text)\" is not ID_NUMBER:relationship")
                    }
                    return ResidentsV1.HouseholdMember(idNumber: parts[0], relationship: parts[1])
                }
            )
            _ = try await ResidentsCommand.Session.run(connection) {
                try await $0.population.upsertHousehold(household)
            }
            Console.current.line(Labels.text("已保存 \(id)", "saved \(id)"))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a household.")
        @Argument(help: "The household's id.") var id: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.GetHouseholdRequest(id: id)
            let household = try await ResidentsCommand.Session.run(connection) {
                try await $0.population.getHousehold(request)
            }
            if json { return Output.json(household) }
            Console.current.line("\(household.id)  \(household.villageCode)  \(household.address)")
            Output.table(
                [Labels.text("身份证号", "ID NUMBER"), Labels.text("关系", "RELATIONSHIP")],
                [[household.headIDNumber, Labels.text("户主", "head")]]
                    + household.members.map { [$0.idNumber, $0.relationship] }
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List households.")
        @Option(help: "Only in this village.") var village: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let village = village
            let households = try await ResidentsCommand.Session.run(connection) { session in
                try await Paging.all { page in
                    let answer = try await session.population.listHouseholds(
                        ResidentsV1.ListHouseholdsRequest(villageCode: village, page: page)
                    )
                    return (answer.households, answer.page)
                }
            }
            if json { return Output.json(households) }
            Output.table(
                [
                    Labels.text("户号", "ID"), Labels.text("户主", "HEAD"), Labels.text("人数", "MEMBERS"),
                    Labels.text("村", "VILLAGE"), Labels.text("地址", "ADDRESS"),
                ],
                households.map { [$0.id, $0.headIDNumber, String($0.members.count + 1), $0.villageCode, $0.address] }
            )
        }
    }
}

/// `sanlian residents import`: CSV files staged chunk by chunk and committed whole.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import people, households and workplaces from CSV files: all of them, or none.",
        discussion: """
            UTF-8 files, their first row naming the columns. People: id_number, name, and optionally \
            phone, registration_address, residence (registered or floating), village_code, \
            village_group, enterprise, dormitory (an enterprise). Households: household_id, \
            head_id_number, and optionally address, village_code, members (ID_NUMBER:relationship, \
            separated by ;). Workplaces: id_number, enterprise, and optionally dormitory (yes/no). \
            The rows go to the service in chunks and are committed in one transaction at the end: \
            when any row is rejected, every rejected row is listed and nothing is imported. The same \
            files imported twice change nothing the second time.
            """
    )
    @Option(help: "People.") var people: String?
    @Option(help: "Households.") var households: String?
    @Option(help: "Workplaces.") var workplaces: String?
    @Option(help: "Rows a chunk (at most 2000).") var chunk: Int = 2000
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func validate() throws {
        guard people != nil || households != nil || workplaces != nil else {
            throw ValidationError("give at least one of --people, --households, --workplaces")
        }
        guard (1...2000).contains(chunk) else { throw ValidationError("--chunk: 1–2000") }
    }

    func run() async throws {
        var rows: [ResidentsV1.ImportRow] = []
        if let people { rows += try ResidentsCSV.read(people, kind: .person) }
        if let households { rows += try ResidentsCSV.read(households, kind: .household) }
        if let workplaces { rows += try ResidentsCSV.read(workplaces, kind: .workplace) }
        let all = rows
        let size = chunk
        let name = [people, households, workplaces].compactMap { $0 }.joined(separator: ", ")
        let console = Console.current
        let status = try await ResidentsCommand.Session.run(connection) { session in
            let begun = try await session.imports.beginImport(ResidentsV1.BeginImportRequest(name: name))
            let chunks = stride(from: 0, to: all.count, by: size).map { all[$0..<min($0 + size, all.count)] }
            // Two chunks in flight: the service checks one while it stores the other.
            try await withThrowingTaskGroup(of: Int.self) { group in
                var sent = 0
                for (index, slice) in chunks.enumerated() {
                    if index >= 2 { sent += try await group.next() ?? 0 }
                    group.addTask {
                        _ = try await session.imports.addImportChunk(
                            ResidentsV1.ImportChunk(
                                importID: begun.importID,
                                chunk: UInt32(index + 1),
                                rows: Array(slice)
                            )
                        )
                        return slice.count
                    }
                    if index >= 2 {
                        console.progress(
                            Labels.text("已发送 \(sent)/\(all.count) 行", "sent \(sent) of \(all.count) rows")
                        )
                    }
                }
                while let done = try await group.next() {
                    sent += done
                    console.progress(Labels.text("已发送 \(sent)/\(all.count) 行", "sent \(sent) of \(all.count) rows"))
                }
            }
            let staged = try await session.imports.addImportChunk(
                ResidentsV1.ImportChunk(importID: begun.importID, chunk: UInt32(chunks.count + 1))
            )
            guard staged.rejectedTotal == 0 else {
                _ = try await session.imports.abortImport(ResidentsV1.AbortImportRequest(importID: begun.importID))
                return staged
            }
            console.progress(Labels.text("正在提交…", "committing…"))
            return try await session.imports.commitImport(ResidentsV1.CommitImportRequest(importID: begun.importID))
        }
        console.progressDone()
        if json { return Output.json(status) }
        if status.rejectedTotal > 0 {
            Output.table(
                [Labels.text("行", "LINE"), Labels.text("列", "COLUMN"), Labels.text("问题", "PROBLEM")],
                status.rejected.map { [String($0.line), $0.field, $0.message] }
            )
            throw CLIError(
                Labels.text(
                    "\(status.rejectedTotal) 行有误，未导入任何记录",
                    "\(status.rejectedTotal) rows rejected; nothing was imported"
                )
            )
        }
        Console.current.line(
            Labels.text(
                "已导入：新增 \(status.created)，更新 \(status.updated)，未变 \(status.unchanged)",
                "imported: \(status.created) added, \(status.updated) changed, \(status.unchanged) already so"
            )
        )
    }
}

/// Reads the residents' import files.
enum ResidentsCSV {
    static func read(_ path: String, kind: ResidentsV1.ImportRowKind) throws -> [ResidentsV1.ImportRow] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(path): cannot read the file")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(path): not UTF-8 text; save it as \"CSV UTF-8\" and import it again")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let reader: CSVReader
        do {
            reader = try CSVRows.reader(text)
        } catch {
            throw CLIError("\(path): cannot read the header row: \(error)")
        }
        let header = CSVRows.header(reader)
        let required: [String] =
            switch kind {
            case .household: ["household_id", "head_id_number"]
            case .workplace: ["id_number", "enterprise"]
            default: ["id_number", "name"]
            }
        for column in required where !header.contains(column) {
            throw CLIError(
                "\(path): no column \(column); the first row names the columns (sanlian residents import --help)"
            )
        }
        var rows: [ResidentsV1.ImportRow] = []
        var line: UInt32 = 1
        while let fields = reader.next() {
            line += 1
            if fields.allSatisfy({ CSVRows.trimmed($0).isEmpty }) { continue }
            func field(_ name: String) -> String {
                guard let index = header.firstIndex(of: name), index < fields.count else { return "" }
                return CSVRows.trimmed(fields[index])
            }
            switch kind {
            case .household:
                rows.append(
                    ResidentsV1.ImportRow(
                        line: line,
                        kind: .household,
                        household: ResidentsV1.Household(
                            id: field("household_id"),
                            headIDNumber: field("head_id_number"),
                            address: field("address"),
                            villageCode: field("village_code"),
                            members: field("members").split(separator: ";").map { member in
                                let parts = member.split(separator: ":", maxSplits: 1).map {
                                    $0.trimmingCharacters(in: .whitespaces)
                                }
                                return ResidentsV1.HouseholdMember(
                                    idNumber: parts[0],
                                    relationship: parts.count > 1 ? parts[1] : ""
                                )
                            }
                        )
                    )
                )
            case .workplace:
                let dormitory = ["yes", "y", "是", "1", "true"].contains(field("dormitory").lowercased())
                rows.append(
                    ResidentsV1.ImportRow(
                        line: line,
                        kind: .workplace,
                        person: ResidentsV1.Person(
                            idNumber: field("id_number"),
                            enterprise: field("enterprise"),
                            dormitoryEnterprise: dormitory ? field("enterprise") : ""
                        )
                    )
                )
            default:
                let village = field("village_code")
                rows.append(
                    ResidentsV1.ImportRow(
                        line: line,
                        kind: .person,
                        person: ResidentsV1.Person(
                            idNumber: field("id_number"),
                            name: field("name"),
                            phone: field("phone"),
                            registrationAddress: field("registration_address"),
                            residence: ["floating", "流动"].contains(field("residence").lowercased())
                                ? .floating : .registered,
                            livesAt: village.isEmpty
                                ? nil : CommonV1.Place(villageCode: village, villageGroup: field("village_group")),
                            enterprise: field("enterprise"),
                            dormitoryEnterprise: field("dormitory")
                        )
                    )
                )
            }
        }
        if let error = reader.error { throw CLIError("\(path): line \(line + 1) cannot be read: \(error)") }
        return rows
    }
}
