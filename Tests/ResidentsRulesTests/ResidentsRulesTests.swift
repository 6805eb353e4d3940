import IdentityNumbers
import ResidentsRules
import SanlianClock
import Testing

/// An ID number from its first 17 digits, with the right check digit.
func idNumber(_ first17: String) -> String {
    first17 + String(IdentityNumber.checkDigit(first17.map { Int(String($0))! }))
}

@Suite("Residents' ID numbers and records")
struct PersonRulesTests {
    let today = LocalDay("2026-12-07")!
    let regions = RegionPolicy()

    @Test("a valid number, an X check digit, and a lowercase x read as X; sex and birth date derived")
    func valid() throws {
        let checked = try PersonRules.check(
            PersonEntry(idNumber: idNumber("51168119850612123"), name: "王大山"),
            today: today,
            regions: regions
        )
        #expect(checked.birthDate == "1985-06-12")
        #expect(checked.isMale)
        #expect(checked.warning == nil)
        let x = try PersonRules.check(
            PersonEntry(idNumber: "11010519491231002x", name: "李"),
            today: today,
            regions: regions
        )
        #expect(x.idNumber.text == "11010519491231002X")
        #expect(!x.isMale)
    }

    @Test("refused naming the field: a wrong check digit, an impossible date, a future birth date, a wrong length")
    func refused() {
        func problem(_ number: String) -> String? {
            do {
                _ = try PersonRules.check(PersonEntry(idNumber: number, name: "王"), today: today, regions: regions)
                return nil
            } catch {
                return "\(error)"
            }
        }
        let good = idNumber("51168119850612123")
        let wrongDigit = String(good.dropLast()) + (good.last == "0" ? "1" : "0")
        #expect(problem(wrongDigit)?.contains("check digit") == true)
        #expect(problem(idNumber("51168119850231123"))?.contains("not a date") == true)
        #expect(problem(idNumber("51168120300101123"))?.contains("in the future") == true)
        #expect(problem("5116811985061212")?.contains("16 characters, not 18") == true)
        #expect(problem(wrongDigit)?.hasPrefix("id_number") == true)
    }

    @Test("an unknown region prefix is a warning, or a refusal where the township says so")
    func unknownRegions() throws {
        let unknown = idNumber("99168119850612123")
        let warned = try PersonRules.check(PersonEntry(idNumber: unknown, name: "王"), today: today, regions: regions)
        #expect(warned.warning?.contains("991681") == true)
        #expect(throws: PersonError.self) {
            try PersonRules.check(
                PersonEntry(idNumber: unknown, name: "王"),
                today: today,
                regions: RegionPolicy(refuseUnknown: true)
            )
        }
    }

    @Test("a given sex or birth date must agree with the number")
    func derived() {
        #expect(throws: PersonError("sex", "female is not the ID number's male")) {
            try PersonRules.check(
                PersonEntry(idNumber: idNumber("51168119850612123"), name: "王", sex: "female"),
                today: today,
                regions: regions
            )
        }
        #expect(throws: PersonError.self) {
            try PersonRules.check(
                PersonEntry(idNumber: idNumber("51168119850612123"), name: "王", birthDate: "1985-06-13"),
                today: today,
                regions: regions
            )
        }
    }
}

@Suite("Reporter scope, duplicates, transfers and window rates")
struct ResidentsProcessRulesTests {
    @Test("a village group leader only for their village; an enterprise owner only for their enterprise")
    func scope() throws {
        try ReporterScope.check(
            department: "village_leader",
            roles: ["village_leader"],
            villages: ["511681104201"],
            enterprises: [],
            villageCode: "511681104201",
            enterprise: ""
        )
        #expect(throws: PersonError.self) {
            try ReporterScope.check(
                department: "village_leader",
                roles: ["village_leader"],
                villages: ["511681104201"],
                enterprises: [],
                villageCode: "511681104202",
                enterprise: ""
            )
        }
        try ReporterScope.check(
            department: "enterprise_owner",
            roles: ["enterprise_owner"],
            villages: [],
            enterprises: ["E001"],
            villageCode: "",
            enterprise: "E001"
        )
        #expect(throws: PersonError.self) {
            try ReporterScope.check(
                department: "enterprise_owner",
                roles: ["enterprise_owner"],
                villages: [],
                enterprises: ["E001"],
                villageCode: "",
                enterprise: "E002"
            )
        }
        // A department's own process claims no scope: it may not report as a reporter.
        #expect(throws: PersonError.self) {
            try ReporterScope.check(
                department: "village_leader",
                roles: [],
                villages: [],
                enterprises: [],
                villageCode: "511681104201",
                enterprise: ""
            )
        }
        // The station's clerk reports anywhere.
        try ReporterScope.check(
            department: "station",
            roles: ["registration_clerk"],
            villages: [],
            enterprises: [],
            villageCode: "x",
            enterprise: "y"
        )
    }

    @Test("duplicates: the same number with a name typo, the same name and birth date with a number typo")
    func duplicates() {
        let a = (idNumber: "511681198506121230", name: "王大山", birthDate: "1985-06-12")
        #expect(
            DuplicateRules.reason(a, (a.idNumber, "王大三", a.birthDate))?.contains("names differ by 1 character") == true
        )
        #expect(
            DuplicateRules.reason(a, ("511681198506121239", "王大山", a.birthDate))?.contains("differ by 1 character")
                == true
        )
        #expect(DuplicateRules.reason(a, a) == nil)
        #expect(DuplicateRules.reason(a, ("110105194912310021", "王大山", a.birthDate)) == nil, "far apart")
    }

    @Test("every transfer transition: requested → documents complete → approved → done, or rejected")
    func transfers() throws {
        typealias State = TransferRules.State
        #expect(try TransferRules.apply(.documents(complete: false), to: .requested) == .requested)
        #expect(try TransferRules.apply(.documents(complete: true), to: .requested) == .documentsComplete)
        #expect(try TransferRules.apply(.approve, to: .documentsComplete) == .approved)
        #expect(try TransferRules.apply(.complete, to: .approved) == .done)
        #expect(try TransferRules.apply(.reject, to: .requested) == .rejected)
        #expect(try TransferRules.apply(.reject, to: .documentsComplete) == .rejected)
        for (step, state) in [
            (TransferRules.Step.approve, State.requested), (.complete, .documentsComplete), (.reject, .approved),
            (.documents(complete: true), .approved), (.approve, .done), (.complete, .rejected),
        ] {
            #expect(throws: PersonError.self, "\(step) from \(state)") { try TransferRules.apply(step, to: state) }
        }
        #expect(State.allCases.filter(\.pending) == [.requested, .documentsComplete, .approved])
    }

    @Test("window rates on a fixture month: on the spot within 30 minutes, same day, unfinished")
    func windowRates() {
        let time = TownshipTime()
        let december = LocalDay("2026-12-01")!
        let at = { (day: Int, minute: Int) in time.unixMilliseconds(december.adding(days: day - 1), minute: minute) }
        let services = [
            WindowService(receivedMs: at(1, 540), finishedMs: at(1, 555)),  // 15 minutes: on the spot
            WindowService(receivedMs: at(2, 540), finishedMs: at(2, 570)),  // 30 minutes: on the spot
            WindowService(receivedMs: at(3, 540), finishedMs: at(3, 700)),  // same day
            WindowService(receivedMs: at(4, 1400), finishedMs: at(5, 30)),  // the next day
            WindowService(receivedMs: at(5, 600), finishedMs: nil),  // unfinished
            WindowService(receivedMs: at(-1, 600), finishedMs: at(-1, 610)),  // November: not counted
        ]
        let rates = WindowRates.compute(
            services,
            month: (
                time.unixMilliseconds(december, minute: 0), time.unixMilliseconds(LocalDay("2027-01-01")!, minute: 0)
            ),
            onTheSpotMs: 30 * 60_000,
            time: time
        )
        #expect(rates.total == 5)
        #expect(rates.onTheSpot == 2)
        #expect(rates.sameDay == 3)
        #expect(rates.unfinished == 1)
        #expect(rates.onTheSpotPermille == 400)
        #expect(rates.sameDayPermille == 600)
    }
}
