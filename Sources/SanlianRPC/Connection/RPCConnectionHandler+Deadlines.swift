import Logging
import NIOCore
import SanlianEventLoop
import SanlianWire

/// One timer for the earliest deadline of the calls in flight either way.
extension RPCConnectionHandler {
    /// Makes sure the connection's deadline timer fires no later than `deadline`.
    func watchDeadline(_ deadline: NIODeadline) {
        guard transport != nil, phase != .closed else { return }
        if let scheduled = deadlineTimerAt, scheduled <= deadline { return }
        deadlineTimer?.cancel()
        deadlineTimerAt = deadline
        deadlineTimer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            deadlineTimer = nil
            deadlineTimerAt = nil
            expireDeadlines()
        }
    }

    /// Ends every call whose deadline has passed, then waits for the next earliest one. Calls that
    /// ended in time are simply no longer here; nothing was scheduled per call to undo.
    func expireDeadlines() {
        let now = NIODeadline.now()
        var next: NIODeadline?
        for (id, entry) in inbound {
            if entry.call.deadline <= now {
                let milliseconds = entry.timeout.nanoseconds / 1_000_000
                entry.call.cancel(RPCError(.deadlineExceeded, "deadline of \(milliseconds) ms exceeded"), answer: true)
                // cancel() ends the call through endInbound; make sure it is gone either way.
                removeInbound(id)
            } else {
                next = min(next ?? entry.call.deadline, entry.call.deadline)
            }
        }
        for (id, entry) in outbound {
            if entry.deadline <= now {
                outbound.removeValue(forKey: id)
                send(RPCV1.Frame(callID: id, kind: .cancel(RPCV1.Cancel(reason: "deadline exceeded"))))
                let milliseconds = entry.timeout.nanoseconds / 1_000_000
                entry.observer.ended(
                    CallOutcome(error: RPCError(.deadlineExceeded, "deadline of \(milliseconds) ms exceeded"))
                )
            } else {
                next = min(next ?? entry.deadline, entry.deadline)
            }
        }
        if let next { watchDeadline(next) }
        closeIfDrained()
    }
}
