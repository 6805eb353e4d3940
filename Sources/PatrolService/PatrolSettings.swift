import PatrolRules
import SanlianClock
import SanlianCompose
import ServiceFrame

/// The compose file's `patrol:` section: the township's time, the roster's hard limits, and the
/// check-in cadence (per shift template where one differs).
///
/// ```yaml
/// patrol:
///   utc_offset: "+08:00"
///   min_rest: 8h
///   max_shifts_per_week: 5
///   check_in:
///     every: 1h
///     grace: 10m
///     templates: {night-g318: 30m}
/// ```
struct PatrolSettings: Sendable {
    var time = TownshipTime(utcOffsetMinutes: 480)
    var limits = RosterLimits(minRestMinutes: 8 * 60, maxShiftsPerWeek: 5)
    var defaultCadence = CheckInCadence(everyMilliseconds: 3_600_000, graceMilliseconds: 600_000)
    var cadenceByTemplate: [String: Int64] = [:]

    /// The cadence of shifts made of template `templateID`.
    func cadence(forTemplate templateID: String) -> CheckInCadence {
        var cadence = defaultCadence
        if let every = cadenceByTemplate[templateID] { cadence.everyMilliseconds = every }
        return cadence
    }

    /// As written in the file.
    struct Section: Decodable {
        var utc_offset: String?
        var min_rest: String?
        var max_shifts_per_week: Int?
        var check_in: CheckIn?

        struct CheckIn: Decodable {
            var every: String?
            var grace: String?
            var templates: [String: String]?
        }
    }

    /// - Throws: `ComposeError` naming the key at fault.
    init(_ section: Section?) throws(ComposeError) {
        guard let section else { return }
        if let offset = section.utc_offset {
            guard let time = TownshipTime(offset: offset) else {
                throw ComposeError("patrol.utc_offset: \"\(offset)\" is not an offset like +08:00")
            }
            self.time = time
        }
        limits.minRestMinutes =
            try ComposeFile.duration(section.min_rest, default: 8 * 3600, key: "patrol.min_rest") / 60
        if let weekly = section.max_shifts_per_week {
            guard (1...21).contains(weekly) else {
                throw ComposeError("patrol.max_shifts_per_week: must be 1–21, got \(weekly)")
            }
            limits.maxShiftsPerWeek = weekly
        }
        if let checkIn = section.check_in {
            let every = try ComposeFile.duration(checkIn.every, default: 3600, key: "patrol.check_in.every")
            // A grace of 0 is allowed: "0s" is not a duration, so it is written out.
            let grace =
                checkIn.grace == "0" || checkIn.grace == "0s"
                ? 0 : try ComposeFile.duration(checkIn.grace, default: 600, key: "patrol.check_in.grace")
            defaultCadence = CheckInCadence(
                everyMilliseconds: Int64(every) * 1000,
                graceMilliseconds: Int64(grace) * 1000
            )
            for (template, text) in checkIn.templates ?? [:] {
                let seconds = try ComposeFile.duration(
                    text,
                    default: every,
                    key: "patrol.check_in.templates.\(template)"
                )
                cadenceByTemplate[template] = Int64(seconds) * 1000
            }
        }
    }
}
