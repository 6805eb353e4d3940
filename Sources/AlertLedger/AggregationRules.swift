package import SanlianWire

/// How alerts fold into aggregates and when aggregates escalate. Pure functions over values, so
/// the rules are tested without a database.
package enum AggregationRules {
    /// The aggregate key: drills never fold into real aggregates, and an alert without a
    /// fingerprint is its own aggregate.
    package static func key(for alert: AlertV1.Alert) -> String {
        let fingerprint =
            alert.fingerprint.isEmpty ? "\(alert.senderDepartment):\(alert.identifier)" : alert.fingerprint
        return isDrill(alert) ? "drill:\(fingerprint)" : fingerprint
    }

    package static func isDrill(_ alert: AlertV1.Alert) -> Bool {
        alert.status == .exercise
    }

    /// The aggregate a ledger event belongs to: an alert's (`key(for:)`), or the one an
    /// escalation or a transition is of.
    package static func key(of event: AlertV1.LedgerEvent) -> String? {
        switch event.body {
        case .alert(let alert)?: key(for: alert)
        case .escalation(let escalation)?: escalation.fingerprint
        case .transition(let aggregate)?: aggregate.fingerprint
        case nil: nil
        }
    }

    /// Where a severity sorts in the command room's list: extreme first, unspecified last.
    package static func severityRank(_ severity: AlertV1.Severity) -> Int {
        switch severity {
        case .extreme: 0
        case .severe: 1
        case .moderate: 2
        case .minor: 3
        case .unknown: 4
        default: 5
        }
    }

    /// Folds `alert` into `existing` (nil for the first alert of its fingerprint).
    /// - firing and acknowledged aggregates count the alert and keep their state;
    /// - a resolved aggregate fires again;
    /// - a CAP Cancel resolves the aggregate, by its sender.
    package static func fold(_ alert: AlertV1.Alert, into existing: AlertV1.Aggregate?, now: Int64)
        -> AlertV1.Aggregate
    {
        var aggregate =
            existing
            ?? AlertV1.Aggregate(
                fingerprint: key(for: alert),
                state: .firing,
                count: 0,
                firstSeenUnixMs: now,
                drill: isDrill(alert)
            )
        aggregate.count += 1
        aggregate.lastSeenUnixMs = now
        aggregate.latest = alert
        if alert.msgType == .cancel {
            if aggregate.state != .resolved {
                aggregate.state = .resolved
                aggregate.resolvedBy = alert.senderDepartment
                aggregate.resolvedUnixMs = now
            }
            return aggregate
        }
        if aggregate.state == .resolved {
            aggregate.state = .firing
            aggregate.refireCount += 1
            aggregate.escalationLevel = 0
            aggregate.acknowledgedBy = ""
            aggregate.acknowledgedUnixMs = 0
            aggregate.resolvedBy = ""
            aggregate.resolvedUnixMs = 0
        }
        return aggregate
    }
}

/// Escalation deadlines per severity, from the compose file.
package struct EscalationPolicy: Sendable, Equatable {
    /// Seconds an aggregate of each severity may stay unacknowledged.
    package var extreme: Int64
    package var severe: Int64
    package var moderate: Int64
    package var minor: Int64
    package var unknown: Int64

    package init(extreme: Int64, severe: Int64, moderate: Int64, minor: Int64, unknown: Int64) {
        self.extreme = extreme
        self.severe = severe
        self.moderate = moderate
        self.minor = minor
        self.unknown = unknown
    }

    package func allowedSeconds(for severity: AlertV1.Severity) -> Int64 {
        switch severity {
        case .extreme: extreme
        case .severe: severe
        case .moderate: moderate
        case .minor: minor
        default: unknown
        }
    }

    /// The escalation level `aggregate` should be at `now`: 0 before its allowed time has passed
    /// once, then one more for every further multiple. Only firing (unacknowledged) aggregates
    /// escalate.
    package func dueLevel(for aggregate: AlertV1.Aggregate, firingSince: Int64, now: Int64) -> UInt32 {
        guard aggregate.state == .firing else { return 0 }
        let allowed = max(1, allowedSeconds(for: aggregate.latest?.severity ?? .unknown)) * 1000
        let elapsed = now - firingSince
        guard elapsed >= allowed else { return 0 }
        return UInt32(clamping: elapsed / allowed)
    }
}
