import SanlianWire
import Testing

@Suite("A delivery spliced from a stored event", .timeLimit(.minutes(1)))
struct EncodedSubmessageTests {
    @Test(
        "decodes to the same delivery as encoding the decoded event",
        arguments: [(0, UInt32(1)), (1, UInt32(7)), (2, UInt32.max), (0, UInt32(0))]
    )
    func sameDelivery(variant: Int, attempt: UInt32) throws {
        let event = AlertV1.LedgerEvent.sample(variant: variant)
        let spliced = BrokerV1.LedgerDelivery.encoded(event: try event.serializedBytes(), attempt: attempt)
        #expect(
            try BrokerV1.LedgerDelivery(serializedBytes: spliced)
                == BrokerV1.LedgerDelivery(event: event, attempt: attempt)
        )
    }

    @Test("an event of all defaults is still present in the delivery")
    func emptyEvent() throws {
        let spliced = BrokerV1.LedgerDelivery.encoded(event: [], attempt: 3)
        let decoded = try BrokerV1.LedgerDelivery(serializedBytes: spliced)
        #expect(decoded.event == AlertV1.LedgerEvent())
        #expect(decoded.attempt == 3)
    }
}
