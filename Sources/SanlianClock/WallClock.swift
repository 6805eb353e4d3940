import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Wall-clock time in Unix milliseconds, injected wherever time decides something (escalation
/// timers, missed check-ins, follow-up dates, overdue tasks), so that tests control it.
package protocol WallClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// The system's clock.
package struct SystemClock: WallClock {
    package init() {}

    package func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told to.
package final class ManualClock: WallClock {
    private let now: Mutex<Int64>

    package init(_ start: Int64) {
        now = Mutex(start)
    }

    package func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    package func advance(seconds: Int64) {
        now.withLock { $0 += seconds * 1000 }
    }

    package func advance(milliseconds: Int64) {
        now.withLock { $0 += milliseconds }
    }

    package func set(_ unixMs: Int64) {
        now.withLock { $0 = unixMs }
    }
}
