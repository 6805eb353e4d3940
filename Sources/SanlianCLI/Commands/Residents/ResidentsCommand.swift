import ArgumentParser
import Foundation
import ResidentsContract
import SanlianClock
import SanlianRPC
import SanlianWire

/// `sanlian residents …`: the resident population service (联管).
struct ResidentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "residents",
        abstract:
            "The resident population (联管): people, households, arrivals and departures, transfers, window services.",
        discussion: """
            Served by sanlian-residents. ID numbers and phones are masked unless your department \
            holds the personal_data grant and you ask with --unmask and a --purpose, which is \
            audited.
            """,
        subcommands: [
            PersonCommand.self, Search.self, HouseholdCommand.self, Report.self, Movements.self, Present.self,
            Lapsed.self,
            Duplicates.self, Statistics.self, Audit.self, Workers.self, ImportCommand.self, TransferCommand.self,
            WindowCommand.self,
        ]
    )

    /// The residents service's clients over one command's broker session.
    struct Session {
        let session: BrokerSession
        var population: ResidentsV1.PopulationClient {
            ResidentsV1.PopulationClient(session.client, options: session.options)
        }
        var imports: ResidentsV1.ImportsClient { ResidentsV1.ImportsClient(session.client, options: session.options) }
        var transfers: ResidentsV1.TransfersClient {
            ResidentsV1.TransfersClient(session.client, options: session.options)
        }
        var window: ResidentsV1.WindowServicesClient {
            ResidentsV1.WindowServicesClient(session.client, options: session.options)
        }
        var time: TownshipTime { LocalTime.time(session.settings, section: "residents") }

        static func run<T: Sendable>(_ connection: ConnectionOptions, _ body: @Sendable (Session) async throws -> T)
            async throws -> T
        {
            try await BrokerSession.run(connection) { session in try await body(Session(session: session)) }
        }
    }

    static func peopleTable(_ people: [ResidentsV1.Person], _ time: TownshipTime) {
        Output.table(
            [
                Labels.text("身份证号", "ID NUMBER"), Labels.text("姓名", "NAME"), Labels.text("性别", "SEX"),
                Labels.text("出生", "BORN"), Labels.text("类别", "RESIDENCE"), Labels.text("居住", "LIVES"),
                Labels.text("单位", "WORKS"), Labels.text("在册", "PRESENT"), Labels.text("最近确认", "CONFIRMED"),
            ],
            people.map { person in
                [
                    person.idNumber, person.name, person.sex == .male ? Labels.text("男", "M") : Labels.text("女", "F"),
                    person.birthDate,
                    person.residence == .floating ? Labels.text("流动", "floating") : Labels.text("户籍", "registered"),
                    person.dormitoryEnterprise.isEmpty
                        ? [person.livesAt?.villageCode, person.livesAt?.villageGroup].compactMap { $0 }.filter {
                            !$0.isEmpty
                        }.joined(separator: " ")
                        : Labels.text("宿舍：", "dormitory: ") + person.dormitoryEnterprise,
                    person.enterprise, person.present ? Labels.text("是", "yes") : Labels.text("否", "no"),
                    LocalTime.format(person.lastConfirmedUnixMs, time),
                ]
            }
        )
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search people by name (or its start), village or enterprise."
        )
        @Argument(help: "A name or the start of one.") var name: String = ""
        @Option(help: "Only in this 12-digit village.") var village: String = ""
        @Option(help: "Only of this enterprise.") var enterprise: String = ""
        @Flag(help: "Show ID numbers and phones unmasked (needs the grant and --purpose; audited).") var unmask = false
        @Option(help: "Why the unmasked data is needed.") var purpose: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.SearchPeopleRequest(
                name: name,
                villageCode: village,
                enterprise: enterprise,
                unmask: unmask,
                purpose: purpose
            )
            let (people, time) = try await Session.run(connection) { session in
                let people = try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.population.searchPeople(paged)
                    return (answer.people, answer.page)
                }
                return (people, session.time)
            }
            if json { return Output.json(people) }
            ResidentsCommand.peopleTable(people, time)
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Report an arrival, a departure or a confirmation (village group leaders and enterprise owners: for their own).",
            discussion:
                "A village group leader gives --village (their own); an enterprise owner --enterprise (their own)."
        )
        @Argument(help: "arrival, departure or confirmation.") var kind: String
        @Option(name: .customLong("id"), help: "The person's ID number.") var idNumber: String
        @Option(help: "The person's name.") var name: String
        @Option(help: "Mobile number.") var phone: String = ""
        @Option(help: "The village reported for (12 digits).") var village: String = ""
        @Option(help: "The village group the person lives in.") var group: String = ""
        @Option(help: "The enterprise reported for.") var enterprise: String = ""
        @Flag(help: "The person lives in the enterprise's dormitory.") var dormitory = false
        @Option(help: "When, e.g. \"2026-12-07 09:00\" (default: now).") var at: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let kinds: [String: ResidentsV1.MovementKind] = [
                "arrival": .arrival, "departure": .departure, "confirmation": .confirmation,
            ]
            guard let movement = kinds[kind] else {
                throw ValidationError("kind: \"\(kind)\" is not arrival, departure or confirmation")
            }
            let time = LocalTime.time(try connection.resolve(), section: "residents")
            let request = ResidentsV1.MovementReport(
                kind: movement,
                person: ResidentsV1.Person(
                    idNumber: idNumber,
                    name: name,
                    phone: phone,
                    livesAt: group.isEmpty ? nil : CommonV1.Place(villageCode: village, villageGroup: group),
                    dormitoryEnterprise: dormitory ? enterprise : ""
                ),
                villageCode: village,
                enterprise: enterprise,
                atUnixMs: try at.map { try LocalTime.parse($0, option: "--at", time: time) } ?? 0
            )
            let receipt = try await Session.run(connection) { try await $0.population.reportMovement(request) }
            if json { return Output.json(receipt) }
            Console.current.line(
                Labels.text("已登记 \(receipt.id)", "recorded \(receipt.id)")
                    + (receipt.duplicateCandidateID.isEmpty
                        ? ""
                        : Labels.text(
                            "（疑似重复，待核：\(receipt.duplicateCandidateID)）",
                            " (looks like someone known; for review: \(receipt.duplicateCandidateID))"
                        ))
            )
        }
    }

    struct Movements: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List arrivals, departures and confirmations, oldest first."
        )
        @Option(help: "Only in this village.") var village: String = ""
        @Option(help: "Only of this enterprise.") var enterprise: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.ListMovementsRequest(villageCode: village, enterprise: enterprise)
            let (movements, time) = try await Session.run(connection) { session in
                let movements = try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.population.listMovements(paged)
                    return (answer.movements, answer.page)
                }
                return (movements, session.time)
            }
            if json { return Output.json(movements) }
            Output.table(
                [
                    Labels.text("时间", "WHEN"), Labels.text("类型", "KIND"), Labels.text("身份证号", "ID NUMBER"),
                    Labels.text("姓名", "NAME"), Labels.text("村", "VILLAGE"), Labels.text("单位", "ENTERPRISE"),
                    Labels.text("报告人", "REPORTED BY"),
                ],
                movements.map { movement in
                    [
                        LocalTime.format(movement.atUnixMs, time), movement.kind.shortName, movement.idNumber,
                        movement.name,
                        movement.villageCode, movement.enterprise, movement.reportedBy,
                    ]
                }
            )
        }
    }

    struct Present: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who is present now, by village or enterprise.")
        @Option(help: "Only in this village.") var village: String = ""
        @Option(help: "Only of this enterprise.") var enterprise: String = ""
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.ListPresentRequest(villageCode: village, enterprise: enterprise)
            let (people, time) = try await Session.run(connection) { session in
                let people = try await Paging.all { page in
                    var paged = request
                    paged.page = page
                    let answer = try await session.population.listPresent(paged)
                    return (answer.people, answer.page)
                }
                return (people, session.time)
            }
            if json { return Output.json(people) }
            ResidentsCommand.peopleTable(people, time)
        }
    }

    struct Lapsed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "People present but not confirmed for months, for follow-up."
        )
        @Option(help: "Months without a confirmation (default: the compose file's).") var months: UInt32 = 0
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let months = months
            let (people, time) = try await Session.run(connection) { session in
                let people = try await Paging.all { page in
                    let answer = try await session.population.listLapsed(
                        ResidentsV1.ListLapsedRequest(months: months, page: page)
                    )
                    return (answer.people, answer.page)
                }
                return (people, session.time)
            }
            if json { return Output.json(people) }
            ResidentsCommand.peopleTable(people, time)
        }
    }

    struct Duplicates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "People who look like one another, side by side; resolve one: merge (both histories kept) or distinct."
        )
        @Argument(help: "To resolve: the candidate's id.") var candidate: String?
        @Argument(help: "merge or distinct.") var decision: String?
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            if let candidate {
                guard let decision, ["merge", "distinct"].contains(decision) else {
                    throw ValidationError("decision: merge or distinct")
                }
                let request = ResidentsV1.ResolveDuplicateRequest(candidateID: candidate, merge: decision == "merge")
                let answer = try await Session.run(connection) { try await $0.population.resolveDuplicate(request) }
                if json { return Output.json(answer) }
                return Console.current.line(
                    decision == "merge"
                        ? Labels.text("已合并，保留 \(answer.keptIDNumber)", "merged into \(answer.keptIDNumber)")
                        : Labels.text("已标记为不同的人", "marked distinct")
                )
            }
            let candidates = try await Session.run(connection) { session in
                try await Paging.all { page in
                    let answer = try await session.population.listDuplicateCandidates(
                        ResidentsV1.ListDuplicateCandidatesRequest(page: page)
                    )
                    return (answer.candidates, answer.page)
                }
            }
            if json { return Output.json(candidates) }
            for candidate in candidates {
                Console.current.line("\(candidate.id): \(candidate.reason)")
                Output.table(
                    ["", Labels.text("已登记", "KNOWN"), Labels.text("新报告", "REPORTED")],
                    [
                        [
                            Labels.text("身份证号", "ID number"), candidate.left?.idNumber ?? "",
                            candidate.right?.idNumber ?? "",
                        ],
                        [Labels.text("姓名", "name"), candidate.left?.name ?? "", candidate.right?.name ?? ""],
                        [Labels.text("出生", "born"), candidate.left?.birthDate ?? "", candidate.right?.birthDate ?? ""],
                        [Labels.text("电话", "phone"), candidate.left?.phone ?? "", candidate.right?.phone ?? ""],
                    ]
                )
                Console.current.line()
            }
        }
    }

    struct Statistics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Population by village and by enterprise: registered and floating now, arrivals and departures in a month."
        )
        @Option(help: "The month, e.g. 2026-12.") var month: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let request = ResidentsV1.StatisticsRequest(month: try LocalTime.month(month, option: "--month"))
            let answer = try await Session.run(connection) { try await $0.population.statistics(request) }
            if json { return Output.json(answer) }
            let header = [
                "", Labels.text("户籍", "REGISTERED"), Labels.text("流动", "FLOATING"), Labels.text("迁入", "ARRIVALS"),
                Labels.text("迁出", "DEPARTURES"),
            ]
            func rows(_ counts: [ResidentsV1.PopulationCount]) -> [[String]] {
                counts.map {
                    [$0.key, String($0.registered), String($0.floating), String($0.arrivals), String($0.departures)]
                }
            }
            Output.table([Labels.text("村", "VILLAGE")] + header.dropFirst(), rows(answer.byVillage))
            Console.current.line()
            Output.table([Labels.text("单位", "ENTERPRISE")] + header.dropFirst(), rows(answer.byEnterprise))
            Console.current.line()
            Output.table(
                [Labels.text("全镇", "TOWNSHIP")] + header.dropFirst(),
                rows([answer.township ?? ResidentsV1.PopulationCount()])
            )
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The audit log of unmasked reads: who, what, when, why."
        )
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let (entries, time) = try await Session.run(connection) { session in
                let entries = try await Paging.all { page in
                    let answer = try await session.population.listAudit(ResidentsV1.ListAuditRequest(page: page))
                    return (answer.entries, answer.page)
                }
                return (entries, session.time)
            }
            if json { return Output.json(entries) }
            Output.table(
                [
                    Labels.text("时间", "WHEN"), Labels.text("部门", "DEPARTMENT"), Labels.text("人员", "OPERATOR"),
                    Labels.text("操作", "METHOD"), Labels.text("对象", "SUBJECT"), Labels.text("用途", "PURPOSE"),
                ],
                entries.map {
                    [
                        LocalTime.format($0.atUnixMs, time), $0.department, $0.operatorID, $0.method, $0.subject,
                        $0.purpose,
                    ]
                }
            )
        }
    }

    struct Workers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The people registered as working for an enterprise.")
        @Argument(help: "The enterprise.") var enterprise: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup(title: "Connection options") var connection: ConnectionOptions

        func run() async throws {
            let enterprise = enterprise
            let (people, time) = try await Session.run(connection) { session in
                let people = try await Paging.all { page in
                    let answer = try await session.population.listEnterpriseWorkers(
                        ResidentsV1.ListEnterpriseWorkersRequest(enterprise: enterprise, page: page)
                    )
                    return (answer.people, answer.page)
                }
                return (people, session.time)
            }
            if json { return Output.json(people) }
            ResidentsCommand.peopleTable(people, time)
        }
    }
}
