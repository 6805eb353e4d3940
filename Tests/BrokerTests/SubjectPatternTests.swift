import BrokerPubSub
import SanlianWire
import Testing

@Suite("Subjects and subject patterns", .timeLimit(.minutes(1)))
struct SubjectPatternTests {
    @Test(
        "matching",
        arguments: [
            ("alert.hazards.traffic", "alert.hazards.traffic", true),
            ("alert.*.traffic", "alert.hazards.traffic", true),
            ("alert.*.traffic", "alert.hazards.fire", false),
            ("alert.*", "alert.hazards.traffic", false),
            ("alert.>", "alert.hazards.traffic", true),
            ("alert.>", "alert", false),
            (">", "anything.at.all", true),
            ("alert.hazards.*", "alert.hazards", false),
            ("*.hazards.>", "alert.hazards.traffic.511681104201", true),
            ("alert.hazards", "alert.hazards.traffic", false),
        ]
    )
    func matching(pattern: String, subject: String, expected: Bool) throws {
        #expect(try SubjectPattern(pattern).matches(subject) == expected)
    }

    @Test(
        "covering: a permission pattern allows exactly the subscriptions it contains",
        arguments: [
            ("alert.>", "alert.hazards.>", true),
            ("alert.>", "alert.*.traffic", true),
            ("alert.>", ">", false),
            ("alert.hazards.>", "alert.>", false),
            ("alert.*.traffic", "alert.hazards.traffic", true),
            ("alert.*.traffic", "alert.*.traffic", true),
            ("alert.*.traffic", "alert.>", false),
            ("alert.hazards.traffic", "alert.*.traffic", false),
            (">", ">", true),
        ]
    )
    func covering(permission: String, request: String, expected: Bool) throws {
        #expect(try SubjectPattern(permission).covers(SubjectPattern(request)) == expected)
    }

    @Test(
        "malformed patterns and subjects are rejected with a reason",
        arguments: ["", "alert..x", "alert.>.x", "a b", "al*rt.x"]
    )
    func malformedPatterns(_ text: String) {
        #expect(throws: SubjectError.self) { try SubjectPattern(text) }
    }

    @Test("publish subjects must be concrete")
    func concreteSubjects() throws {
        try Subject.validate("alert.hazards.traffic")
        #expect(throws: SubjectError.self) { try Subject.validate("alert.*") }
        #expect(throws: SubjectError.self) { try Subject.validate("alert.>") }
        #expect(throws: SubjectError.self) { try Subject.validate(String(repeating: "a", count: 300)) }
    }

    @Test("a subscriber that lets its queue fill is cut off; others keep receiving; publishing never waits")
    func slowConsumer() async throws {
        let table = SubscriptionTable(queueLimit: 3)
        let slow = table.subscribe(pattern: try SubjectPattern("alert.>"), department: "station")
        let fast = table.subscribe(pattern: try SubjectPattern("alert.>"), department: "traffic")
        var fastIterator = fast.deliveries.makeAsyncIterator()
        for index in 0..<5 {
            table.publish(.init(subject: "alert.x", payload: [UInt8(index)]))
            _ = try await fastIterator.next()
            fast.consumed()
        }
        var slowIterator = slow.deliveries.makeAsyncIterator()
        var received = 0
        await #expect(throws: SubscriptionTable.SlowConsumer.self) {
            while try await slowIterator.next() != nil { received += 1 }
        }
        #expect(received == 3)
        #expect(table.count == 1)
    }
}
