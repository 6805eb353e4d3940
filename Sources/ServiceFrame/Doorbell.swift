import Synchronization

/// Wakes one waiter when something happened, or tells it that nothing did within a time.
///
/// A ring while nobody waits is kept (once) for the next wait. Unlike an `AsyncStream` that a
/// waiter iterates afresh each time, a wait that times out leaves the bell as it was: cancelling
/// a task suspended in `AsyncStream.next()` finishes the stream, after which every later wait
/// would return at once and the waiter would spin.
package final class Doorbell: Sendable {
    package enum Outcome: Sendable, Equatable {
        case rung
        case timedOut
    }

    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let state = Mutex(State())

    package init() {}

    /// Wakes the waiter, or the next wait if nobody waits now.
    package func ring() {
        let waiter = state.withLock { state in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil as CheckedContinuation<Bool, Never>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// Waits for a ring (one that came since the last wait counts) or `timeout`. One waiter at a
    /// time.
    package func wait(timeout: Duration) async -> Outcome {
        await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await self.waitForRing() ? .rung : nil }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return nil
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            // The other task's answer matters when both happened: a ring is never lost.
            let second = await group.next() ?? nil
            return first == .rung || second == .rung ? .rung : .timedOut
        }
    }

    /// True when rung; false when cancelled first.
    private func waitForRing() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer: Bool? = state.withLock { state in
                    if state.rung {
                        state.rung = false
                        return true
                    }
                    // Cancelled before the continuation was stored: the handler found nothing to resume.
                    if Task.isCancelled { return false }
                    state.waiter = continuation
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                let waiter = state.waiter
                state.waiter = nil
                return waiter
            }
            waiter?.resume(returning: false)
        }
    }
}
