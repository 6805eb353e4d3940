import Foundation
import GRDB
import IdentityNumbers
import ResidentsContract
import SanlianContracts
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

/// An ID number from its first 17 digits, with the right check digit.
func residentID(_ first17: String) -> String {
    first17 + String(IdentityNumber.checkDigit(first17.map { Int(String($0))! }))
}

/// sanlian-residents over real processes, with the broker and the township's operators.
@Suite("The resident population service over real processes", .timeLimit(.minutes(3)))
struct ResidentsServiceTests {
    static func options() -> CallOptions { CallOptions(timeout: .seconds(10)) }
    static let wang = residentID("51168119850612123")
    static let li = residentID("51168119900301234")

    static func withResidents(_ body: @escaping @Sendable (Township) async throws -> Void) async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await Harness.withService(township, "sanlian-residents") { _ in try await body(township) }
        }
    }

    static func register(_ client: RPCClient, _ id: String, _ name: String) async throws {
        _ = try await ResidentsV1.PopulationClient(client, options: options()).upsertPerson(
            ResidentsV1.UpsertPersonRequest(
                person: ResidentsV1.Person(
                    idNumber: id,
                    name: name,
                    phone: "13812345678",
                    registrationAddress: "高兴镇一组",
                    livesAt: CommonV1.Place(villageCode: "511681104201"),
                    enterprise: "E001",
                    present: true
                )
            )
        )
    }

    static func code(_ error: any Error) -> StatusCode? { (error as? RPCError)?.code }

    @Test(
        "the traffic office gets masked data; the station's unmasked read is audited with its purpose, masked reads are not"
    )
    func maskingAndAudit() async throws {
        try await Self.withResidents { township in
            try await township.withClient("station") { try await Self.register($0, Self.wang, "王大山") }
            try await township.withClient("traffic") { client in
                let population = ResidentsV1.PopulationClient(client, options: Self.options())
                let person = try await population.getPerson(ResidentsV1.GetPersonRequest(idNumber: Self.wang))
                #expect(
                    person.masked && person.idNumber == "511681********\(Self.wang.suffix(4))"
                        && person.phone == "138****5678"
                )
                await #expect {
                    try await population.getPerson(
                        ResidentsV1.GetPersonRequest(idNumber: Self.wang, purpose: "案件", unmask: true)
                    )
                } throws: { Self.code($0) == .permissionDenied }
                let workers = try await population.listEnterpriseWorkers(
                    ResidentsV1.ListEnterpriseWorkersRequest(enterprise: "E001")
                )
                #expect(workers.people.allSatisfy { $0.masked })
            }
            try await township.withClient("station", operatorID: "clerk-01") { client in
                let population = ResidentsV1.PopulationClient(client, options: Self.options())
                #expect(
                    try await population.getPerson(ResidentsV1.GetPersonRequest(idNumber: Self.wang)).masked,
                    "masked unless asked"
                )
                await #expect {
                    try await population.getPerson(ResidentsV1.GetPersonRequest(idNumber: Self.wang, unmask: true))
                } throws: { error in
                    Self.code(error) == .invalidArgument && (error as? RPCError)?.message.hasPrefix("purpose") == true
                }
                let unmasked = try await population.getPerson(
                    ResidentsV1.GetPersonRequest(idNumber: Self.wang, purpose: "办理身份证补领", unmask: true)
                )
                #expect(!unmasked.masked && unmasked.idNumber == Self.wang && unmasked.phone == "13812345678")
                let audit = try await population.listAudit(ResidentsV1.ListAuditRequest())
                #expect(audit.entries.count == 1)
                let entry = try #require(audit.entries.first)
                #expect(entry.department == "station" && entry.operatorID == "clerk-01")
                #expect(entry.purpose == "办理身份证补领" && entry.method == "GetPerson" && entry.subject.contains("****"))
            }
        }
    }

    @Test("reporters report only for their own village or enterprise, from their authenticated scope")
    func reporterScope() async throws {
        try await Self.withResidents { township in
            @Sendable func arrival(village: String = "", enterprise: String = "") -> ResidentsV1.MovementReport {
                ResidentsV1.MovementReport(
                    kind: .arrival,
                    person: ResidentsV1.Person(idNumber: Self.li, name: "李二"),
                    villageCode: village,
                    enterprise: enterprise
                )
            }
            try await township.withClient("village_leader", operatorID: "vl-201") { client in
                let population = ResidentsV1.PopulationClient(client, options: Self.options())
                _ = try await population.reportMovement(arrival(village: "511681104201"))
                await #expect { try await population.reportMovement(arrival(village: "511681104202")) } throws: {
                    Self.code($0) == .permissionDenied
                }
            }
            try await township.withClient("enterprise_owner", operatorID: "eo-e001") { client in
                let population = ResidentsV1.PopulationClient(client, options: Self.options())
                _ = try await population.reportMovement(arrival(enterprise: "E001"))
                await #expect { try await population.reportMovement(arrival(enterprise: "E002")) } throws: {
                    Self.code($0) == .permissionDenied
                }
            }
            try await township.withClient("station") { client in
                let present = try await ResidentsV1.PopulationClient(client, options: Self.options())
                    .listPresent(ResidentsV1.ListPresentRequest(villageCode: "511681104201"))
                #expect(present.people.map(\.name) == ["李二"])
                #expect(present.people.first?.residence == .floating)
                #expect(present.people.first?.enterprise == "E001")
            }
        }
    }

    @Test(
        "the same person reported with a typo in the name is flagged, shown side by side, and merged or kept distinct"
    )
    func duplicates() async throws {
        try await Self.withResidents { township in
            let typo = residentID("51168119850612124")
            try await township.withClient("station") { client in
                try await Self.register(client, Self.wang, "王大山")
                let population = ResidentsV1.PopulationClient(client, options: Self.options())
                let first = try await population.reportMovement(
                    ResidentsV1.MovementReport(
                        kind: .confirmation,
                        person: ResidentsV1.Person(idNumber: Self.wang, name: "王大三")
                    )
                )
                #expect(!first.duplicateCandidateID.isEmpty)
                let second = try await population.reportMovement(
                    ResidentsV1.MovementReport(
                        kind: .arrival,
                        person: ResidentsV1.Person(idNumber: typo, name: "王大山"),
                        villageCode: "511681104201"
                    )
                )
                #expect(!second.duplicateCandidateID.isEmpty)
                let candidates = try await population.listDuplicateCandidates(
                    ResidentsV1.ListDuplicateCandidatesRequest()
                ).candidates
                #expect(candidates.count == 2)
                #expect(candidates.first?.left?.name == "王大山" && candidates.first?.right?.name == "王大三")
                #expect(candidates.first?.reason.contains("names differ") == true)
                _ = try await population.resolveDuplicate(
                    ResidentsV1.ResolveDuplicateRequest(candidateID: first.duplicateCandidateID, merge: false)
                )
                let merged = try await population.resolveDuplicate(
                    ResidentsV1.ResolveDuplicateRequest(candidateID: second.duplicateCandidateID, merge: true)
                )
                #expect(merged.keptIDNumber == Self.wang)
                let kept = try await population.getPerson(
                    ResidentsV1.GetPersonRequest(idNumber: Self.wang, purpose: "核对重复", unmask: true)
                )
                #expect(kept.mergedIDNumbers == [typo])
                #expect(
                    try await population.listDuplicateCandidates(ResidentsV1.ListDuplicateCandidatesRequest())
                        .candidates.isEmpty
                )
                // Both histories kept: the typo's arrival is still in the movements.
                #expect(try await population.listMovements(ResidentsV1.ListMovementsRequest()).movements.count == 2)
                #expect(
                    try await population.searchPeople(ResidentsV1.SearchPeopleRequest(name: "王大山")).people.count == 1
                )
            }
        }
    }

    @Test("a transfer locks the person until done or rejected, the lock naming it; each transition in order")
    func transfers() async throws {
        try await Self.withResidents { township in
            try await township.withClient("station", operatorID: "clerk-01") { client in
                try await Self.register(client, Self.wang, "王大山")
                let transfers = ResidentsV1.TransfersClient(client, options: Self.options())
                let population = ResidentsV1.PopulationClient(client, options: Self.options())
                let transfer = try await transfers.requestTransfer(
                    ResidentsV1.TransferRequest(kind: .moveIn, idNumber: Self.wang, toAddress: "高兴镇二组 8 号")
                )
                #expect(transfer.documents.map(\.name) == ["户口迁移证", "居民身份证", "准予迁入证明"])
                await #expect { try await Self.register(client, Self.wang, "王大山") } throws: { error in
                    Self.code(error) == .failedPrecondition
                        && (error as? RPCError)?.message.contains(transfer.id) == true
                }
                await #expect {
                    try await transfers.decide(ResidentsV1.DecideTransferRequest(id: transfer.id, approve: true))
                } throws: {
                    Self.code($0) == .failedPrecondition
                }
                let partial = try await transfers.updateDocuments(
                    ResidentsV1.UpdateDocumentsRequest(
                        id: transfer.id,
                        documents: [ResidentsV1.DocumentItem(name: "户口迁移证", received: true)]
                    )
                )
                #expect(partial.state == .requested)
                let complete = try await transfers.updateDocuments(
                    ResidentsV1.UpdateDocumentsRequest(
                        id: transfer.id,
                        documents: ["居民身份证", "准予迁入证明"].map { ResidentsV1.DocumentItem(name: $0, received: true) }
                    )
                )
                #expect(complete.state == .documentsComplete)
                #expect(
                    try await transfers.decide(ResidentsV1.DecideTransferRequest(id: transfer.id, approve: true)).state
                        == .approved
                )
                #expect(
                    try await transfers.complete(ResidentsV1.CompleteTransferRequest(id: transfer.id)).state == .done
                )
                let moved = try await population.getPerson(ResidentsV1.GetPersonRequest(idNumber: Self.wang))
                #expect(moved.lockedByTransfer.isEmpty && moved.registrationAddress == "高兴镇二组 8 号")
                // A rejection unlocks too.
                let second = try await transfers.requestTransfer(
                    ResidentsV1.TransferRequest(kind: .moveOut, idNumber: Self.wang, toAddress: "外县")
                )
                await #expect {
                    try await transfers.decide(ResidentsV1.DecideTransferRequest(id: second.id, approve: false))
                } throws: {
                    Self.code($0) == .invalidArgument
                }
                #expect(
                    try await transfers.decide(
                        ResidentsV1.DecideTransferRequest(id: second.id, approve: false, reason: "材料不符")
                    ).state
                        == .rejected
                )
                try await Self.register(client, Self.wang, "王大山")
            }
        }
    }

    @Test("an import the service is killed in the middle of imports nothing; the same file twice changes nothing")
    func importsWholeOrNothing() async throws {
        let township = try Township()
        let rows = (0..<50).map { index in
            ResidentsV1.ImportRow(
                line: UInt32(index + 2),
                kind: .person,
                person: ResidentsV1.Person(
                    idNumber: residentID("51168119900101" + String(format: "%03d", index)),
                    name: "村民\(index)"
                )
            )
        }
        _ = try await Harness.withBroker(township) { _ in
            let begun = try await Harness.withService(township, "sanlian-residents") { process in
                try await township.withClient("station") { client in
                    let imports = ResidentsV1.ImportsClient(client, options: Self.options())
                    let begun = try await imports.beginImport(ResidentsV1.BeginImportRequest(name: "people.csv"))
                    let staged = try await imports.addImportChunk(
                        ResidentsV1.ImportChunk(importID: begun.importID, chunk: 1, rows: Array(rows.prefix(25)))
                    )
                    #expect(staged.rowsStaged == 25)
                    // SIGKILL in the middle of the import: before the rest and the commit.
                    try process.kill()
                    return begun.importID
                }
            }.value
            // Started again on the same database: nothing imported.
            _ = try await Harness.withService(township, "sanlian-residents") { process in
                try await township.withClient("station") { client in
                    let population = ResidentsV1.PopulationClient(client, options: Self.options())
                    #expect(
                        try await population.searchPeople(ResidentsV1.SearchPeopleRequest(name: "村民")).people.isEmpty
                    )
                    let imports = ResidentsV1.ImportsClient(client, options: Self.options())
                    _ = try await imports.abortImport(ResidentsV1.AbortImportRequest(importID: begun))
                    for round in 1...2 {
                        let fresh = try await imports.beginImport(ResidentsV1.BeginImportRequest(name: "people.csv"))
                        _ = try await imports.addImportChunk(
                            ResidentsV1.ImportChunk(importID: fresh.importID, chunk: 1, rows: rows)
                        )
                        let committed = try await imports.commitImport(
                            ResidentsV1.CommitImportRequest(importID: fresh.importID)
                        )
                        if round == 1 {
                            #expect(committed.created == 50 && committed.unchanged == 0)
                        } else {
                            #expect(committed.created == 0 && committed.updated == 0 && committed.unchanged == 50)
                        }
                    }
                    #expect(
                        try await population.searchPeople(ResidentsV1.SearchPeopleRequest(name: "村民")).page?.total == 50
                    )
                    // The first import, into an empty table, wrote without the people's secondary
                    // indexes: they are back, as the schema has them.
                    var readOnly = Configuration()
                    readOnly.readonly = true
                    let database = try DatabaseQueue(
                        path: township.stateDirectory + "/data/residents.sqlite",
                        configuration: readOnly
                    )
                    let indexes = try await database.read { db in
                        try String.fetchAll(
                            db,
                            sql:
                                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'people' AND sql IS NOT NULL ORDER BY name"
                        )
                    }
                    #expect(
                        indexes == ["people_by_birth", "people_by_enterprise", "people_by_name", "people_by_village"]
                    )
                }
                _ = process
            }
        }
    }
}
