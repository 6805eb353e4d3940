import Foundation
import SanlianWire
import Synchronization

/// How a durable subscription delivers.
package struct DeliverySettings: Sendable, Equatable {
    /// An event unacknowledged this long is delivered again.
    package var ackTimeout: Duration
    /// Deliveries of one event before it goes to the dead letters.
    package var maxDeliveries: UInt32
    /// Unacknowledged events in flight at once.
    package var maxInFlight: Int

    package init(ackTimeout: Duration, maxDeliveries: UInt32, maxInFlight: Int) {
        self.ackTimeout = ackTimeout
        self.maxDeliveries = maxDeliveries
        self.maxInFlight = maxInFlight
    }
}

/// Where a subscription starts.
package enum SubscriptionStart: Sendable, Equatable {
    /// After the last acknowledged event (a new subscription: from the beginning).
    case resume
    /// From this sequence, inclusive.
    case sequence(UInt64)
    /// From the first event recorded at or after this time.
    case time(unixMs: Int64)
}

/// Named durable subscriptions to the ledger: each resumes after its last acknowledged event,
/// delivers at most `maxInFlight` unacknowledged events, redelivers after the ack timeout, and
/// dead-letters an event after `maxDeliveries`. Each subscriber reads the ledger at its own pace,
/// so a slow one never holds back publishers or other subscribers.
package final class LedgerSubscriptions: Sendable {
    let ledger: AlertLedger
    private let sessions = Mutex<[String: Session]>([:])
    /// New events read from the ledger at once for one subscription: a read's events are in
    /// memory together, and a subscriber may ask for 4096 in flight: reading them all at once
    /// would hold megabytes more of the broker's memory for no speed.
    package static let scanPage = 512

    package init(ledger: AlertLedger) {
        self.ledger = ledger
    }

    static func key(_ department: String, _ name: String) -> String { department + "\u{0}" + name }

    /// Delivers events to one subscriber until the task is cancelled, `send` throws, or a newer
    /// subscriber takes the name over.
    /// - Parameters:
    ///   - takeOver: replace a subscriber of the same name that is connected; without it, such a
    ///     subscriber makes this one fail with ALREADY_EXISTS.
    ///   - include: which subjects this subscriber gets (its pattern and its read permissions).
    ///   - send: hands one delivery to the subscriber; may suspend (flow control).
    package func run(
        department: String,
        name: String,
        pattern: String,
        start: SubscriptionStart,
        settings: DeliverySettings,
        takeOver: Bool = true,
        include: @escaping @Sendable (String) -> Bool,
        send: @escaping @Sendable (_ encodedDelivery: [UInt8]) async throws -> Void
    ) async throws {
        if !takeOver, isConnected(department: department, name: name) {
            throw LedgerError(
                .alreadyExists,
                "the subscription \(name) already has a subscriber; take it over, or choose another name"
            )
        }
        let opened = try await ledger.openSubscription(department: department, name: name, pattern: pattern, initial: 0)
        let cursor: UInt64
        switch start {
        case .resume: cursor = opened.ackedThrough
        case .sequence(let sequence): cursor = sequence > 0 ? sequence - 1 : 0
        case .time(let unixMs): cursor = try await ledger.sequenceBefore(unixMs: unixMs)
        }
        let session = Session(department: department, name: name, cursor: cursor, priorAttempts: opened.attempts)
        let key = Self.key(department, name)
        let replaced = sessions.withLock { sessions in
            defer { sessions[key] = session }
            return sessions[key]
        }
        if let replaced {
            replaced.replace()
            // Its deliveries count too; it may not have ended (and remembered them) yet.
            session.countPrior(replaced.unacknowledged())
        }
        let observer = ledger.notifier.addObserver { session.doorbell.ring() }
        defer {
            ledger.notifier.removeObserver(observer)
            // Queued before the session leaves the table: a subscriber connecting meanwhile finds
            // either the session (and counts its deliveries) or the write (queued before its own
            // read of the subscription).
            ledger.rememberAttempts(department: department, name: name, session.unacknowledged())
            sessions.withLock { sessions in
                if sessions[key] === session { sessions.removeValue(forKey: key) }
            }
        }
        try await deliver(session, settings: settings, include: include, send: send)
    }

    /// Whether a subscriber of the named subscription is connected.
    package func isConnected(department: String, name: String) -> Bool {
        sessions.withLock { $0[Self.key(department, name)] != nil }
    }

    /// Acknowledges delivered events of the named subscription.
    /// - Returns: the new resume point.
    /// - Throws: FAILED_PRECONDITION when no subscriber of that name is connected.
    package func acknowledge(department: String, name: String, sequences: [UInt64]) async throws -> UInt64 {
        guard let session = sessions.withLock({ $0[Self.key(department, name)] }) else {
            throw LedgerError(.failedPrecondition, "no subscriber named \(name) is connected")
        }
        let (redriven, position) = session.acknowledge(sequences)
        for sequence in redriven {
            try await ledger.finishRedrive(department: department, name: name, sequence: sequence)
        }
        if let position {
            try await ledger.saveSubscriptionPosition(department: department, name: name, ackedThrough: position)
        }
        session.doorbell.ring()
        return session.ackedThrough
    }

    /// Moves `sequence` to the subscription's dead letters after `attempts` deliveries, then lets
    /// `release` take it out of the session (`Session.drop` for one in flight, `Session.advance`
    /// for one read from the stream and never delivered) and saves the resume point if it moved.
    private func deadLetter(
        _ sequence: UInt64,
        attempts: UInt32,
        of session: Session,
        release: (UInt64) -> UInt64?
    ) async throws {
        try await ledger.recordDeadLetter(
            department: session.department,
            name: session.name,
            sequence: sequence,
            attempts: attempts
        )
        if let position = release(sequence) {
            try await ledger.saveSubscriptionPosition(
                department: session.department,
                name: session.name,
                ackedThrough: position
            )
        }
    }

    /// Wakes the named subscription, e.g. after its dead letters were redriven.
    package func wake(department: String, name: String) {
        sessions.withLock { $0[Self.key(department, name)] }?.doorbell.ring()
    }

    private func deliver(
        _ session: Session,
        settings: DeliverySettings,
        include: @escaping @Sendable (String) -> Bool,
        send: @escaping @Sendable (_ encodedDelivery: [UInt8]) async throws -> Void
    ) async throws {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            if session.isReplaced {
                throw LedgerError(.aborted, "a newer subscriber took over the subscription \(session.name)")
            }
            // 1. Unacknowledged past the timeout: deliver again, or give up into the dead letters.
            for (sequence, attempt, redriven) in session.expired(now: clock.now) {
                if attempt >= settings.maxDeliveries {
                    try await deadLetter(sequence, attempts: attempt, of: session, release: session.drop)
                } else {
                    for event in try await ledger.storedEvents([sequence]) {
                        session.track(
                            sequence,
                            attempt: attempt + 1,
                            deadline: clock.now + settings.ackTimeout,
                            redriven: redriven
                        )
                        try await send(BrokerV1.LedgerDelivery.encoded(event: event.encoded, attempt: attempt + 1))
                    }
                }
            }
            // 2. Redriven dead letters go first.
            let redrives = try await ledger.pendingRedrives(department: session.department, name: session.name)
                .filter { !session.isInFlight($0) }
            for event in try await ledger.storedEvents(redrives) {
                let attempt = session.firstAttempt(of: event.sequence)
                if attempt > settings.maxDeliveries {
                    try await deadLetter(event.sequence, attempts: attempt - 1, of: session, release: session.drop)
                    continue
                }
                session.track(
                    event.sequence,
                    attempt: attempt,
                    deadline: clock.now + settings.ackTimeout,
                    redriven: true
                )
                try await send(BrokerV1.LedgerDelivery.encoded(event: event.encoded, attempt: attempt))
            }
            // 3. New events, up to the in-flight limit, read a page at a time: the events of one
            // read are in memory at once, and a subscriber may ask for 4096 in flight.
            var readEvents = false
            var room = settings.maxInFlight - session.inFlightCount
            while room > 0, session.cursor < ledger.lastSequence {
                let page = min(room, Self.scanPage)
                let (events, scanned) = try await ledger.scanStored(
                    after: session.cursor,
                    limit: page,
                    include: include
                )
                for event in events {
                    // Above 1 when earlier connections got it and went away without acknowledging.
                    let attempt = session.firstAttempt(of: event.sequence)
                    if attempt > settings.maxDeliveries {
                        try await deadLetter(event.sequence, attempts: attempt - 1, of: session) {
                            session.advance(to: $0)
                        }
                        continue
                    }
                    session.track(
                        event.sequence,
                        attempt: attempt,
                        deadline: clock.now + settings.ackTimeout,
                        redriven: false
                    )
                    session.advance(to: event.sequence)
                    try await send(BrokerV1.LedgerDelivery.encoded(event: event.encoded, attempt: attempt))
                }
                if events.count < page, let position = session.advance(to: scanned) {
                    try await ledger.saveSubscriptionPosition(
                        department: session.department,
                        name: session.name,
                        ackedThrough: position
                    )
                }
                guard !events.isEmpty else { break }
                readEvents = true
                // A short page is the end of the ledger (as far as the pattern matches).
                if events.count < page { break }
                room = settings.maxInFlight - session.inFlightCount
            }
            // Round again from the top: what came due or was redriven meanwhile goes first.
            if readEvents { continue }
            // 4. Sleep until something happens: a new event, an ack, or the next redelivery.
            let wakeAt = session.nextDeadline ?? (clock.now + .seconds(3600))
            await session.doorbell.wait(until: wakeAt)
        }
    }
}

/// One connected subscriber's delivery state.
package final class Session: Sendable {
    let department: String
    let name: String
    let doorbell = Doorbell()

    private struct Flight {
        var attempt: UInt32
        var deadline: ContinuousClock.Instant
        var redriven: Bool
    }

    private struct State {
        var cursor: UInt64
        var ackedThrough: UInt64
        var inFlight: [UInt64: Flight] = [:]
        /// The sequences delivered from the stream (not redriven), ascending from `streamHead`;
        /// acknowledged ones leave the front lazily. The resume point is found at the front
        /// instead of by searching every event in flight for each one delivered.
        var streamOrder: [UInt64] = []
        var streamHead = 0
        var replaced = false
        /// Deliveries earlier connections made of events they never acknowledged.
        var priorAttempts: [UInt64: UInt32]
    }

    private let state: Mutex<State>

    package init(department: String, name: String, cursor: UInt64, priorAttempts: [UInt64: UInt32] = [:]) {
        self.department = department
        self.name = name
        self.state = Mutex(State(cursor: cursor, ackedThrough: cursor, priorAttempts: priorAttempts))
    }

    /// The attempt number of this session's first delivery of `sequence`: 1, or one more than
    /// the deliveries earlier connections made of it.
    package func firstAttempt(of sequence: UInt64) -> UInt32 {
        state.withLock { state in
            guard !state.priorAttempts.isEmpty, let prior = state.priorAttempts[sequence] else { return 1 }
            return prior &+ 1
        }
    }

    /// Adds deliveries another connection made (the most of each event counts).
    package func countPrior(_ attempts: [(sequence: UInt64, attempts: UInt32)]) {
        state.withLock { state in
            for (sequence, count) in attempts {
                state.priorAttempts[sequence] = max(state.priorAttempts[sequence] ?? 0, count)
            }
        }
    }

    /// Every event delivered and not yet acknowledged, with how often it was delivered.
    package func unacknowledged() -> [(sequence: UInt64, attempts: UInt32)] {
        state.withLock { state in state.inFlight.map { (sequence: $0.key, attempts: $0.value.attempt) } }
    }

    var cursor: UInt64 { state.withLock { $0.cursor } }
    package var ackedThrough: UInt64 { state.withLock { $0.ackedThrough } }
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }
    var isReplaced: Bool { state.withLock { $0.replaced } }
    var nextDeadline: ContinuousClock.Instant? { state.withLock { $0.inFlight.values.map(\.deadline).min() } }

    func isInFlight(_ sequence: UInt64) -> Bool { state.withLock { $0.inFlight[sequence] != nil } }

    func replace() {
        state.withLock { $0.replaced = true }
        doorbell.ring()
    }

    package func track(_ sequence: UInt64, attempt: UInt32, deadline: ContinuousClock.Instant, redriven: Bool) {
        state.withLock { state in
            if !redriven, state.inFlight[sequence] == nil { Self.addToStream(sequence, &state) }
            state.inFlight[sequence] = Flight(attempt: attempt, deadline: deadline, redriven: redriven)
        }
    }

    /// Keeps `streamOrder` ascending: new events arrive in order, so this is an append but for
    /// an out-of-order sequence, which goes where it belongs.
    private static func addToStream(_ sequence: UInt64, _ state: inout State) {
        guard let last = state.streamOrder.last, sequence < last else {
            state.streamOrder.append(sequence)
            return
        }
        var low = state.streamHead
        var high = state.streamOrder.count
        while low < high {
            let middle = (low + high) / 2
            if state.streamOrder[middle] < sequence { low = middle + 1 } else { high = middle }
        }
        state.streamOrder.insert(sequence, at: low)
    }

    /// Moves the read cursor; returns the new resume point if it moved.
    @discardableResult
    package func advance(to sequence: UInt64) -> UInt64? {
        state.withLock { state in
            state.cursor = max(state.cursor, sequence)
            return Self.updateLowWater(&state)
        }
    }

    func expired(now: ContinuousClock.Instant) -> [(UInt64, UInt32, Bool)] {
        state.withLock { state in
            state.inFlight.filter { $0.value.deadline <= now }
                .map { ($0.key, $0.value.attempt, $0.value.redriven) }
                .sorted { $0.0 < $1.0 }
        }
    }

    /// Forgets an event (dead-lettered); returns the new resume point if it moved.
    package func drop(_ sequence: UInt64) -> UInt64? {
        state.withLock { state in
            state.inFlight.removeValue(forKey: sequence)
            return Self.updateLowWater(&state)
        }
    }

    /// - Returns: the acknowledged redriven sequences, and the new resume point if it moved.
    package func acknowledge(_ sequences: [UInt64]) -> (redriven: [UInt64], position: UInt64?) {
        state.withLock { state in
            var redriven: [UInt64] = []
            for sequence in sequences {
                if let flight = state.inFlight.removeValue(forKey: sequence), flight.redriven {
                    redriven.append(sequence)
                }
            }
            return (redriven, Self.updateLowWater(&state))
        }
    }

    /// The resume point is just below the oldest unacknowledged event read from the stream
    /// (redriven events sit below it already and do not hold it back).
    private static func updateLowWater(_ state: inout State) -> UInt64? {
        while state.streamHead < state.streamOrder.count {
            let front = state.streamOrder[state.streamHead]
            if let flight = state.inFlight[front], !flight.redriven { break }
            state.streamHead += 1
        }
        // Drop what was passed once it is the larger part, so the array stays as big as the window.
        if state.streamHead > 64, state.streamHead * 2 > state.streamOrder.count {
            state.streamOrder.removeFirst(state.streamHead)
            state.streamHead = 0
        }
        let oldest = state.streamHead < state.streamOrder.count ? state.streamOrder[state.streamHead] : nil
        let position = oldest.map { $0 - 1 } ?? state.cursor
        guard position != state.ackedThrough else { return nil }
        state.ackedThrough = position
        return position
    }
}

/// Wakes one waiting task; a ring while nobody waits is kept for the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a ring, at `deadline`, or on cancellation.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
