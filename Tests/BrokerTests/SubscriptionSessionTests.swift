import AlertLedger
import Testing

@Suite("A durable subscriber's resume point", .timeLimit(.minutes(1)))
struct SubscriptionSessionTests {
    static let later = ContinuousClock.now + .seconds(60)

    /// Delivers `sequences` from the stream, as the delivery loop does.
    static func deliver(_ sequences: some Sequence<UInt64>, _ session: Session) {
        for sequence in sequences {
            session.track(sequence, attempt: 1, deadline: later, redriven: false)
            session.advance(to: sequence)
        }
    }

    @Test("the resume point stays below the oldest unacknowledged event, whatever order acks come in")
    func oldestUnacknowledged() {
        let session = Session(department: "station", name: "duty", cursor: 0)
        Self.deliver(1...5, session)
        #expect(session.ackedThrough == 0)
        #expect(session.acknowledge([2, 3]).position == nil)
        #expect(session.acknowledge([1]).position == 3)
        #expect(session.acknowledge([5]).position == nil)
        #expect(session.drop(4) == 5)  // dead-lettered: no longer holds the point back
        Self.deliver(6...7, session)
        #expect(session.ackedThrough == 5)
        #expect(session.acknowledge([6, 7]).position == 7)
    }

    @Test("deliveries by earlier connections count on, the most of each event, and what is unacknowledged is kept")
    func attemptsAcrossConnections() {
        let session = Session(department: "station", name: "duty", cursor: 0, priorAttempts: [3: 2])
        #expect(session.firstAttempt(of: 3) == 3)
        #expect(session.firstAttempt(of: 4) == 1)
        // A replaced session still open: its counts join, the larger one wins.
        session.countPrior([(sequence: 3, attempts: 1), (sequence: 4, attempts: 2)])
        #expect(session.firstAttempt(of: 3) == 3)
        #expect(session.firstAttempt(of: 4) == 3)
        session.track(4, attempt: 3, deadline: Self.later, redriven: false)
        session.track(5, attempt: 1, deadline: Self.later, redriven: false)
        _ = session.acknowledge([5])
        #expect(session.unacknowledged().map(\.sequence) == [4])
        #expect(session.unacknowledged().map(\.attempts) == [3])
    }

    @Test("redriven events never hold the resume point back")
    func redrivenDoNotHoldBack() {
        let session = Session(department: "station", name: "duty", cursor: 10)
        session.track(3, attempt: 1, deadline: Self.later, redriven: true)
        Self.deliver(11...12, session)
        #expect(session.acknowledge([11, 12]).position == 12)
        #expect(session.acknowledge([3]).redriven == [3])
    }

    @Test("a window of thousands moves its resume point as the oldest is acknowledged")
    func longWindow() {
        let session = Session(department: "station", name: "duty", cursor: 0)
        Self.deliver(1...5_000, session)
        for sequence in UInt64(1)...4_999 {
            #expect(session.acknowledge([sequence]).position == sequence)
        }
        // An event tracked out of order still counts.
        session.track(2, attempt: 1, deadline: Self.later, redriven: false)
        #expect(session.ackedThrough == 4_999)
        #expect(session.acknowledge([5_000]).position == 1)
        #expect(session.acknowledge([2]).position == 5_000)
    }
}
