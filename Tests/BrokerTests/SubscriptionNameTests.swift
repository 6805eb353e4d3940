import AlertLedger
import BrokerCore
import Foundation
import SanlianWire
import Testing

@Suite("Durable subscription names", .timeLimit(.minutes(1)))
struct SubscriptionNameTests {
    /// The rule as a regular expression, as the broker once checked it.
    static func matchesRule(_ name: String) -> Bool {
        name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", options: .regularExpression) != nil
    }

    @Test(
        "the hand-written check accepts exactly what the rule's regular expression accepts",
        arguments: [
            "bench", "a", "A.b_c-d", "0", "9lives", String(repeating: "x", count: 64),
            "", ".hidden", "-dash", "_under", String(repeating: "x", count: 65), "with space", "tab\tname",
            "指挥室", "café", "name/slash", "name\n", "name\0", "ＡＢＣ", "a..b", "a-", "Z_9.",
        ]
    )
    func sameAsTheRule(name: String) {
        let accepted = (try? SubscriptionRules.checkName(name)) != nil
        #expect(accepted == (Self.matchesRule(name) && !name.hasSuffix("\n")))
    }

    @Test("a name ending in a newline is refused: the regular expression's $ let it through")
    func trailingNewline() {
        #expect(Self.matchesRule("name\n"))
        #expect(throws: (any Error).self) { try SubscriptionRules.checkName("name\n") }
    }
}

@Suite("Durable subscription settings")
struct SubscriptionSettingsTests {
    @Test("what a subscriber asks, within the broker's bounds; the defaults for what it leaves at 0")
    func bounded() {
        let defaults = DeliverySettings(ackTimeout: .seconds(30), maxDeliveries: 5, maxInFlight: 256)
        #expect(SubscriptionRules.settings(.init(name: "a"), defaults: defaults) == defaults)
        let asked = SubscriptionRules.settings(
            .init(name: "a", maxInFlight: 10_000, ackTimeoutSeconds: 9_999, maxDeliveries: 1_000),
            defaults: defaults
        )
        #expect(asked == DeliverySettings(ackTimeout: .seconds(3600), maxDeliveries: 100, maxInFlight: 4096))
        #expect(SubscriptionRules.start(nil) == .resume)
        #expect(SubscriptionRules.start(.init(position: .resume(false))) == .resume)
        #expect(SubscriptionRules.start(.init(position: .fromSequence(7))) == .sequence(7))
    }
}
