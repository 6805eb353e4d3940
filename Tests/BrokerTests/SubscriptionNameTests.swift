import Foundation
import Testing

@testable import BrokerCore

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
        #expect(BrokerHandlers.isValidSubscriptionName(name) == (Self.matchesRule(name) && !name.hasSuffix("\n")))
    }

    @Test("a name ending in a newline is refused: the regular expression's $ let it through")
    func trailingNewline() {
        #expect(Self.matchesRule("name\n"))
        #expect(!BrokerHandlers.isValidSubscriptionName("name\n"))
    }
}
