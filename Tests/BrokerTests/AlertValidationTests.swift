import AlertLedger
import BrokerCore
import SanlianRPC
import SanlianWire
import Testing

@Suite("Alert validation: every field checked, every error naming it")
struct AlertValidationTests {
    static let valid = AlertV1.Alert(
        identifier: "hz-1",
        senderDepartment: "forged",
        senderOperator: "forged",
        status: .actual,
        subject: "alert.hazards.traffic",
        category: .traffic,
        severity: .severe,
        area: CommonV1.Place(villageCode: "511681104201"),
        headline: "G318 道路塌方",
        fingerprint: "road:G318"
    )

    static func validate(_ alert: AlertV1.Alert?, mayPublish: @escaping (String) -> Bool = { _ in true })
        throws(RPCError)
        -> AlertV1.Alert
    {
        try AlertValidation.validated(
            alert,
            department: "traffic",
            operatorID: "clerk-1",
            now: 1_000,
            mayPublish: mayPublish
        )
    }

    @Test("a valid alert is stamped with the authenticated sender and a time")
    func stamping() throws {
        let alert = try Self.validate(Self.valid)
        #expect(alert.senderDepartment == "traffic" && alert.senderOperator == "clerk-1")
        #expect(alert.sentUnixMs == 1_000 && alert.msgType == .alert)
    }

    static let invalid: [(String, @Sendable (inout AlertV1.Alert) -> Void)] = [
        ("alert.identifier", { $0.identifier = "" }),
        ("alert.identifier", { $0.identifier = String(repeating: "i", count: 129) }),
        ("alert.subject", { $0.subject = "alert..x" }),
        ("alert.status", { $0.status = .unspecified }),
        ("alert.severity", { $0.severity = .unrecognized(42) }),
        ("alert.event", { $0.event = String(repeating: "e", count: 65) }),
        ("alert.headline", { $0.headline = "  \t " }),
        ("alert.headline", { $0.headline = String(repeating: "险", count: 201) }),
        ("alert.description", { $0.description = String(repeating: "d", count: 4001) }),
        ("alert.instruction", { $0.instruction = String(repeating: "i", count: 1001) }),
        ("alert.fingerprint", { $0.fingerprint = String(repeating: "f", count: 257) }),
        ("alert.references", { $0.references = (0..<17).map { "r\($0)" } }),
        ("alert.references[1]", { $0.references = ["a", ""] }),
        ("alert.parameters", { $0.parameters = (0..<33).map { CommonV1.KeyValue(key: "k\($0)") } }),
        ("alert.parameters[0].key", { $0.parameters = [CommonV1.KeyValue(key: "", value: "v")] }),
        (
            "alert.parameters[0].value",
            { $0.parameters = [CommonV1.KeyValue(key: "k", value: String(repeating: "v", count: 257))] }
        ),
        ("alert.area.village_code", { $0.area = CommonV1.Place(villageCode: "5116811042") }),
        ("alert.area.village_group", { $0.area = CommonV1.Place(villageGroup: String(repeating: "组", count: 65)) }),
        ("alert.area.latitude_micro", { $0.area = CommonV1.Place(latitudeMicro: 91_000_000) }),
        ("alert.expires_unix_ms", { $0.expiresUnixMs = -1 }),
    ]

    @Test("each invalid field is refused with INVALID_ARGUMENT naming it", arguments: invalid.indices)
    func invalidField(index: Int) {
        let (field, change) = Self.invalid[index]
        var alert = Self.valid
        change(&alert)
        let error = #expect(throws: RPCError.self) { try Self.validate(alert) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix(field + ":") == true, "\(String(describing: error))")
    }

    @Test("an alert of 4-byte characters within every character limit is still bounded in bytes")
    func encodedSizeBound() throws {
        var alert = Self.valid
        alert.description = String(repeating: "🚧", count: 4000)
        alert.instruction = String(repeating: "🚧", count: 1000)
        alert.parameters = (0..<32).map { CommonV1.KeyValue(key: "k\($0)", value: String(repeating: "🚧", count: 256)) }
        let error = #expect(throws: RPCError.self) { try Self.validate(alert) }
        #expect(error?.message.hasPrefix("alert:") == true && error?.message.contains("32768") == true)
        // The bound is a bound: never below the encoded size.
        var fits = Self.valid
        fits.description = String(repeating: "路", count: 4000)
        let validated = try Self.validate(fits)
        #expect(AlertValidation.encodedSizeBound(validated) >= (try validated.serializedBytes().count))
    }

    @Test("a subject the department may not publish on is refused before any other field is looked at")
    func permissionFirst() {
        var alert = Self.valid
        alert.identifier = ""
        let error = #expect(throws: RPCError.self) { try Self.validate(alert, mayPublish: { _ in false }) }
        #expect(error?.code == .permissionDenied)
        #expect(error?.message.contains("alert.hazards.traffic") == true)
        #expect(throws: RPCError.self) { try Self.validate(nil) }
    }
}

@Suite("List paging: tokens, page sizes and the frame budget")
struct ListPagingTests {
    @Test("a token gives back its fields, whatever they hold, and only to its own list")
    func tokens() throws {
        let fields = ["fp:with:colons", "路面", "", "12"]
        let token = PageToken.make("ag1", fields)
        #expect(try PageToken.read(token, "ag1", count: 4) == fields)
        #expect(throws: RPCError.self) { try PageToken.read(token, "dl1", count: 4) }
        #expect(throws: RPCError.self) { try PageToken.read(token, "ag1", count: 3) }
        for garbage in ["", "!!!", "YWcxOzk5OmFi", String(repeating: "A", count: 5000)] {
            let error = #expect(throws: RPCError.self) { try PageToken.read(garbage, "ag1", count: 4) }
            #expect(error?.message.hasPrefix("page.page_token") == true)
        }
    }

    @Test("page sizes: 0 is the default, more than the maximum is the maximum")
    func sizes() {
        #expect(pageSize(0) == 100 && pageSize(nil) == 100 && pageSize(7) == 7 && pageSize(5000) == 1000)
        #expect(LedgerReading.limit(0) == 100 && LedgerReading.limit(1_000_000) == 1000)
    }

    @Test("the budget takes items while they fit the frame, then none")
    func budget() {
        var budget = FrameBudget(frameBytes: 64 * 1024)
        var taken = 0
        while budget.take(10_000) { taken += 1 }
        #expect(taken == 6 && budget.isFull)
        let tookMore = budget.take(1)
        #expect(!tookMore, "nothing more once full, so that a list is cut, not reordered")
        var tiny = FrameBudget(frameBytes: 100)
        let tookAny = tiny.take(1)
        #expect(!tookAny)
    }

    @Test("aggregate list filters are checked and their token names the place")
    func aggregateFilters() throws {
        let error = #expect(throws: RPCError.self) {
            try AggregatePaging.filter(BrokerV1.ListAggregatesRequest(villageCodes: ["51"]))
        }
        #expect(error?.message.hasPrefix("village_codes[0]") == true)
        #expect(throws: RPCError.self) {
            try AggregatePaging.filter(BrokerV1.ListAggregatesRequest(states: [.unrecognized(9)]))
        }
        let filter = try AggregatePaging.filter(
            BrokerV1.ListAggregatesRequest(severities: [.extreme], departments: ["traffic"])
        )
        #expect(filter.severities == [.extreme] && filter.departments == ["traffic"])
        #expect(try AggregatePaging.cursor("") == nil)
    }
}

@Suite("The broker's own requests: registration, publish, acknowledgements")
struct RequestRulesTests {
    @Test("a registration with too much or malformed in it is refused naming the field")
    func registrations() {
        let service = BrokerV1.ServiceDescriptor(name: "sanlian.echo.v1.Echo", methods: [.init(name: "Echo")])
        #expect(throws: Never.self) { try RequestRules.checkRegistration(.init(services: [service])) }
        let cases: [(BrokerV1.RegisterRequest, String)] = [
            (.init(), "services"),
            (.init(services: Array(repeating: service, count: 65)), "services"),
            (.init(services: [.init(name: "a b")]), "services[0].name"),
            (.init(services: [.init(name: "x.Y", methods: [.init(name: "A/B")])]), "services[0].methods[0].name"),
            (.init(services: [service], instance: String(repeating: "i", count: 129)), "instance"),
        ]
        for (request, field) in cases {
            let error = #expect(throws: RPCError.self) { try RequestRules.checkRegistration(request) }
            #expect(error?.message.hasPrefix(field + ":") == true, "\(String(describing: error))")
        }
    }

    @Test("a publish is bounded in payload and headers")
    func publishes() {
        let cases: [(BrokerV1.PublishRequest, String)] = [
            (.init(subject: "notice.*"), "subject"),
            (.init(subject: "notice.x", payload: Array(repeating: 0, count: 256 * 1024 + 1)), "payload"),
            (.init(subject: "notice.x", headers: [.init(key: "", value: "v")]), "headers[0].key"),
            (
                .init(subject: "notice.x", headers: [.init(key: "k", value: String(repeating: "v", count: 1025))]),
                "headers[0].value"
            ),
        ]
        for (request, field) in cases {
            let error = #expect(throws: RPCError.self) { try RequestRules.checkPublish(request) }
            #expect(error?.message.hasPrefix(field + ":") == true, "\(String(describing: error))")
        }
        #expect(throws: RPCError.self) { try RequestRules.checkSequences(Array(0..<10_001)) }
        #expect(throws: RPCError.self) { try RequestRules.checkAggregateAction(.init(fingerprint: "")) }
        #expect(throws: RPCError.self) {
            try RequestRules.checkAggregateAction(.init(fingerprint: "f", note: String(repeating: "n", count: 501)))
        }
    }
}
