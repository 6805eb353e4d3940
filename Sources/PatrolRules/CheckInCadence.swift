import SanlianClock

/// How often a volunteer on patrol checks in, and how late a check-in may be before it counts as
/// missed.
package struct CheckInCadence: Sendable, Equatable {
    package var everyMilliseconds: Int64
    package var graceMilliseconds: Int64

    package init(everyMilliseconds: Int64, graceMilliseconds: Int64) {
        self.everyMilliseconds = everyMilliseconds
        self.graceMilliseconds = graceMilliseconds
    }
}

/// A patrol in progress, from its first check-in to its check-out (or its shift's end): when the
/// next check-in is due, and the check-ins it missed. A value: the service stores it, and the
/// rules below move it on.
package struct PatrolProgress: Sendable, Equatable {
    package var startedMs: Int64
    package var lastCheckInMs: Int64
    package var nextDueMs: Int64
    /// Misses in this patrol so far.
    package var misses: Int
    /// Whether the latest miss is still unanswered (its alert open).
    package var missOpen: Bool
    /// The shift's end: the patrol closes then if not checked out.
    package var shiftEndsMs: Int64
    package var closedMs: Int64?

    package init(
        startedMs: Int64,
        lastCheckInMs: Int64,
        nextDueMs: Int64,
        misses: Int,
        missOpen: Bool,
        shiftEndsMs: Int64,
        closedMs: Int64?
    ) {
        self.startedMs = startedMs
        self.lastCheckInMs = lastCheckInMs
        self.nextDueMs = nextDueMs
        self.misses = misses
        self.missOpen = missOpen
        self.shiftEndsMs = shiftEndsMs
        self.closedMs = closedMs
    }
}

/// What happened to a patrol when time passed or a volunteer checked in.
package enum PatrolEvent: Sendable, Equatable {
    /// The patrol's `number`th missed check-in (1 = first), due at `dueMs`.
    case missed(number: Int, dueMs: Int64)
    /// A check-in answered the open miss.
    case missResolved(number: Int)
    /// The shift ended without a check-out.
    case closed(atMs: Int64)
}

/// The check-in rules: the first check-in starts a patrol, each check-in sets the next due time
/// one interval later, a check-in not made by its due time plus the grace is a miss (one per
/// interval while nobody answers), and a check-in after a miss answers it. The time is always
/// given, never read: the service passes its injected clock's.
package enum CheckInRules {
    /// A check-in at `now`, starting the patrol when `progress` is nil.
    /// - Returns: the patrol after it, and the miss it answered (if one was open).
    package static func checkIn(
        _ progress: PatrolProgress?,
        at now: Int64,
        shiftEndsMs: Int64,
        cadence: CheckInCadence
    ) -> (progress: PatrolProgress, answered: PatrolEvent?) {
        guard var progress, progress.closedMs == nil else {
            return (
                PatrolProgress(
                    startedMs: now,
                    lastCheckInMs: now,
                    nextDueMs: now + cadence.everyMilliseconds,
                    misses: 0,
                    missOpen: false,
                    shiftEndsMs: shiftEndsMs,
                    closedMs: nil
                ),
                nil
            )
        }
        let answered: PatrolEvent? = progress.missOpen ? .missResolved(number: progress.misses) : nil
        progress.lastCheckInMs = now
        progress.nextDueMs = now + cadence.everyMilliseconds
        progress.missOpen = false
        return (progress, answered)
    }

    /// What has happened by `now` that nobody did: missed check-ins (one per interval past its
    /// grace) and the shift's end. A patrol closed or checked out has nothing more.
    package static func elapse(
        _ progress: PatrolProgress,
        to now: Int64,
        cadence: CheckInCadence
    ) -> (progress: PatrolProgress, events: [PatrolEvent]) {
        var progress = progress
        var events: [PatrolEvent] = []
        guard progress.closedMs == nil else { return (progress, []) }
        // Check-ins are due only within the shift.
        while progress.nextDueMs + cadence.graceMilliseconds <= now, progress.nextDueMs <= progress.shiftEndsMs {
            progress.misses += 1
            progress.missOpen = true
            events.append(.missed(number: progress.misses, dueMs: progress.nextDueMs))
            progress.nextDueMs += cadence.everyMilliseconds
        }
        if now >= progress.shiftEndsMs + cadence.graceMilliseconds {
            progress.closedMs = progress.shiftEndsMs
            events.append(.closed(atMs: progress.shiftEndsMs))
        }
        return (progress, events)
    }

    /// How serious a missed check-in is: the first of a day patrol moderate, of a night patrol
    /// severe; a second miss in the same patrol one step more, and every later one extreme.
    package static func severity(ofMiss number: Int, night: Bool) -> MissSeverity {
        let steps = (night ? 1 : 0) + min(max(number, 1), 3) - 1
        return [.moderate, .severe, .extreme][min(steps, 2)]
    }

    /// When `elapse` next has something to say: the next miss's moment or the shift's end.
    package static func nextDeadline(_ progress: PatrolProgress, cadence: CheckInCadence) -> Int64? {
        guard progress.closedMs == nil else { return nil }
        return min(progress.nextDueMs, progress.shiftEndsMs) + cadence.graceMilliseconds
    }
}

/// The severity of a missed check-in's alert.
package enum MissSeverity: Sendable, Equatable {
    case moderate
    case severe
    case extreme
}
