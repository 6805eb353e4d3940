package import SanlianWire
import Synchronization

/// Ephemeral publish/subscribe: subscribers registered by pattern get every later publication on
/// a matching subject. Publishing never waits for a subscriber: each has a bounded queue, and a
/// subscriber that lets it fill is cut off with an error (a "slow consumer", as NATS calls it)
/// rather than silently missing messages. Durable delivery is the alert ledger's job.
package final class SubscriptionTable: Sendable {
    /// Queued deliveries per subscriber before it counts as too slow.
    package let queueLimit: Int

    private struct Entry {
        var pattern: SubjectPattern
        var department: String
        var continuation: AsyncThrowingStream<BrokerV1.Delivery, any Error>.Continuation
        var queued: Int
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    private let nextID = Atomic<UInt64>(1)

    package init(queueLimit: Int = 1024) {
        self.queueLimit = queueLimit
    }

    /// Why a subscription ended early.
    package struct SlowConsumer: Error, CustomStringConvertible {
        package var description: String
    }

    /// A live subscription: iterate `deliveries`; call `consumed()` after handling each, and
    /// `cancel()` when done.
    package struct Subscription: Sendable {
        package let id: UInt64
        package let deliveries: AsyncThrowingStream<BrokerV1.Delivery, any Error>
        let table: SubscriptionTable

        package func consumed() { table.consumed(id) }
        package func cancel() { table.remove(id) }
    }

    package func subscribe(pattern: SubjectPattern, department: String) -> Subscription {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: BrokerV1.Delivery.self)
        entries.withLock {
            $0[id] = Entry(pattern: pattern, department: department, continuation: continuation, queued: 0)
        }
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        return Subscription(id: id, deliveries: stream, table: self)
    }

    /// Hands `delivery` to every matching subscriber.
    /// - Returns: how many subscribers it was handed to.
    @discardableResult
    package func publish(_ delivery: BrokerV1.Delivery) -> Int {
        var slow: [AsyncThrowingStream<BrokerV1.Delivery, any Error>.Continuation] = []
        var delivered: [AsyncThrowingStream<BrokerV1.Delivery, any Error>.Continuation] = []
        entries.withLock { entries in
            for (id, entry) in entries where entry.pattern.matches(delivery.subject) {
                if entry.queued >= queueLimit {
                    slow.append(entry.continuation)
                    entries.removeValue(forKey: id)
                } else {
                    entries[id]?.queued += 1
                    delivered.append(entry.continuation)
                }
            }
        }
        for continuation in delivered { continuation.yield(delivery) }
        for continuation in slow {
            continuation.finish(
                throwing: SlowConsumer(description: "subscriber fell \(queueLimit) messages behind and was cut off")
            )
        }
        return delivered.count
    }

    package var count: Int { entries.withLock { $0.count } }

    private func consumed(_ id: UInt64) {
        entries.withLock { entries in
            if let queued = entries[id]?.queued, queued > 0 { entries[id]?.queued = queued - 1 }
        }
    }

    private func remove(_ id: UInt64) {
        let continuation = entries.withLock { $0.removeValue(forKey: id)?.continuation }
        continuation?.finish()
    }
}
