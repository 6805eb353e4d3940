import BrokerPubSub
import SanlianTestHarness
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

    /// How the broker matched before it read a subject's bytes directly: token by token over
    /// the pattern's text split at dots, through `String.UTF8View`.
    static func referenceMatch(pattern: String, subject: String) -> Bool {
        let tokens = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let bytes = subject.utf8
        var start = bytes.startIndex
        var index = 0
        while true {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex
            guard index < tokens.count else { return false }
            switch tokens[index] {
            case ">": return true
            case "*": break
            case let literal: guard bytes[start..<end].elementsEqual(literal.utf8) else { return false }
            }
            index += 1
            if end == bytes.endIndex { return index == tokens.count }
            start = bytes.index(after: end)
        }
    }

    @Test("matching agrees with the token-by-token reference on 20,000 seeded pairs of patterns and subjects")
    func matchingAgreesWithReference() throws {
        // Few distinct tokens, so that literals often agree; prefixes of one another ("alert",
        // "alerts"), multi-byte UTF-8, and subjects cut mid-token or ending in a dot.
        let words = ["alert", "alerts", "al", "hazards", "traffic", "交管", "村", "511681104201", "x"]
        var generator = SplitMix64(seed: 0x5_0b1e_c7)
        for _ in 0..<20_000 {
            var patternTokens = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                switch Int.random(in: 0..<5, using: &generator) {
                case 0: "*"
                default: words.randomElement(using: &generator)!
                }
            }
            if Bool.random(using: &generator) { patternTokens.append(">") }
            let pattern = patternTokens.joined(separator: ".")
            var subject = (0..<Int.random(in: 1...5, using: &generator)).map { _ in
                words.randomElement(using: &generator)!
            }.joined(separator: ".")
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: subject += "."
            case 1: subject = String(subject.dropLast(Int.random(in: 0...subject.count, using: &generator)))
            default: break
            }
            let matched = try SubjectPattern(pattern).matches(subject)
            #expect(
                matched == Self.referenceMatch(pattern: pattern, subject: subject),
                "\(pattern) against \"\(subject)\""
            )
        }
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
