import Foundation
import Synchronization

/// Wall-clock time in Unix milliseconds, injected so that tests control escalation timers.
package protocol LedgerClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// The system clock.
package struct SystemLedgerClock: LedgerClock {
    package init() {}

    package func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }
}

/// A clock that moves only when told to.
package final class ManualLedgerClock: LedgerClock {
    private let now: Mutex<Int64>

    package init(_ start: Int64) {
        now = Mutex(start)
    }

    package func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    package func advance(seconds: Int64) {
        now.withLock { $0 += seconds * 1000 }
    }
}
