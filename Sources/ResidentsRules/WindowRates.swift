package import SanlianClock

/// A window service (窗口服务) as the rates count it.
package struct WindowService: Sendable, Equatable {
    package var receivedMs: Int64
    /// nil while unfinished.
    package var finishedMs: Int64?

    package init(receivedMs: Int64, finishedMs: Int64?) {
        self.receivedMs = receivedMs
        self.finishedMs = finishedMs
    }
}

/// A month's window-service completion rates: the services received in the month, those finished
/// on the spot (within the township's threshold) and on the day they were received.
package struct WindowRates: Sendable, Equatable {
    package var total = 0
    package var onTheSpot = 0
    package var sameDay = 0
    package var unfinished = 0

    package var onTheSpotPermille: Int { total == 0 ? 0 : onTheSpot * 1000 / total }
    package var sameDayPermille: Int { total == 0 ? 0 : sameDay * 1000 / total }

    package static func compute(
        _ services: [WindowService],
        month: (from: Int64, to: Int64),
        onTheSpotMs: Int64,
        time: TownshipTime
    ) -> WindowRates {
        var rates = WindowRates()
        for service in services where (month.from..<month.to).contains(service.receivedMs) {
            rates.total += 1
            guard let finished = service.finishedMs else {
                rates.unfinished += 1
                continue
            }
            if finished - service.receivedMs <= onTheSpotMs { rates.onTheSpot += 1 }
            if time.day(of: finished) == time.day(of: service.receivedMs) { rates.sameDay += 1 }
        }
        return rates
    }
}
