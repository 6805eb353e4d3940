package import Foundation
package import PatrolRules

/// One stack of processes a call measurement runs against: a relay (or the broker) in front of an
/// echo server (or the echo service), and how the load generator calls it.
package struct Stack {
    package var relay: Int32
    package var server: Int32
    /// The load generator's mode and socket: `raw` for the floors, `echo` for Sanlian.
    package var call: [String]
    /// What follows its numbers: a department and its credential file, or nothing.
    package var identity: [String] = []

    package init(relay: Int32, server: Int32, call: [String], identity: [String] = []) {
        self.relay = relay
        self.server = server
        self.call = call
        self.identity = identity
    }
}

package struct BenchError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// A process running while the benchmark needs it.
package final class Background {
    package let process = Process()
    package var pid: Int32 { process.processIdentifier }

    /// Starts `executable`, or `wrapper` (found on PATH) with `executable` after its own arguments.
    package init(_ executable: String, _ arguments: [String], under wrapper: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable) is not built; run `make bench`")
        }
        if wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = wrapper + [executable] + arguments
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    package func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Runs `process` and returns what it wrote to its standard output and standard error, killing
/// it if it has not finished after `limit` seconds.
/// - Throws: `BenchError` naming `name` when it was killed, or when it cannot start.
package func runToCompletion(_ process: Process, within limit: TimeInterval, named name: String) throws -> (
    output: Data, errors: Data
) {
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
    let written = (output.fileHandleForReading.readDataToEndOfFile(), errors.fileHandleForReading.readDataToEndOfFile())
    process.waitUntilExit()
    // Cancelled right after the process is reaped: its pid would have to be reused within that
    // instant for the watchdog to hit another process.
    watchdog.cancel()
    if process.terminationReason == .uncaughtSignal, process.terminationStatus == SIGKILL {
        throw BenchError("\(name) did not finish within \(limit.formatted()) s: what it measured stopped answering")
    }
    return written
}

/// Writes back and drops `path`'s pages from the page cache (those no process maps), so that the
/// next process to run it reads them from disk, as after a reboot or a deployment.
package func dropFromPageCache(_ path: String) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    // Dirty pages are not dropped, and a binary just linked is dirty.
    guard fdatasync(fd) == 0 else { throw BenchError("cannot write back \(path): \(String(cString: strerror(errno)))") }
    let advised = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    guard advised == 0 else {
        throw BenchError("cannot drop \(path) from the page cache: \(String(cString: strerror(advised)))")
    }
}

package func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/sl-bench-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw BenchError("cannot create a temporary directory") }
    return String(cString: made)
}

/// Waits (up to `timeout` seconds) until something accepts connections on `path`.
package func waitForSocket(_ path: String, timeout: TimeInterval = 20) throws {
    try waitUntil("\(path) to accept connections", timeout: timeout) {
        guard let fd = connectUnixSocket(path) else { return false }
        close(fd)
        return true
    }
}

/// A stream socket connected to the Unix socket at `path`, or nil when nothing accepts there.
package func connectUnixSocket(_ path: String) -> Int32? {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}

package func waitUntil(_ what: String, timeout: TimeInterval = 20, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw BenchError("timed out waiting for \(what)")
}

/// CPU time `pid`'s threads have run so far, user and kernel, in nanoseconds (the first field of
/// /proc/PID/task/TID/schedstat); 0 when the process is gone.
package func cpuNanoseconds(pid: Int32) -> UInt64 {
    let tasks = "/proc/\(pid)/task"
    guard let threads = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return 0 }
    return threads.reduce(0) { total, thread in
        let stat = try? String(contentsOfFile: "\(tasks)/\(thread)/schedstat", encoding: .utf8)
        return total + (stat?.split(separator: " ").first.flatMap { UInt64($0) } ?? 0)
    }
}

/// VmHWM from /proc: the process's peak resident set, in KiB.
package func peakRSS(pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
    return 0
}

package enum Machine {
    package static func describe() -> String {
        let cpu =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory =
            (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("MemTotal") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
        let described = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu), \(memory / 1_048_576) GiB"
        guard let poll = guestHaltPollNanoseconds() else { return described }
        return described + ", guest halt polling \(poll) ns"
    }

    /// The share of the machine's CPU time spent busy over the next `interval` seconds (from
    /// `/proc/stat`; time the hypervisor gave to other guests, steal, is left out), or nil when
    /// it cannot be read. The caller sleeps meanwhile, so this is other processes' use.
    package static func busyShare(over interval: TimeInterval) -> Double? {
        guard let before = cpuTimes() else { return nil }
        Thread.sleep(forTimeInterval: interval)
        guard let after = cpuTimes(), after.total > before.total else { return nil }
        return Double(after.busy - before.busy) / Double(after.total - before.total)
    }

    /// The machine's busy and total CPU time so far, in clock ticks: the first line of
    /// `/proc/stat` is user, nice, system, idle, iowait, irq, softirq, steal (guest time is
    /// counted in user already).
    package static func cpuTimes() -> (busy: UInt64, total: UInt64)? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap(cpuTimes(stat:))
    }

    /// `cpuTimes()` read from the text of `/proc/stat`.
    package static func cpuTimes(stat: String) -> (busy: UInt64, total: UInt64)? {
        guard let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let ticks = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard ticks.count >= 7 else { return nil }
        let (user, nice, system, idle, iowait, irq, softirq) =
            (ticks[0], ticks[1], ticks[2], ticks[3], ticks[4], ticks[5], ticks[6])
        let busy = user + nice + system + irq + softirq
        return (busy, busy + idle + iowait)
    }

    /// How long an idle virtual CPU polls before it halts (the guest's `haltpoll` cpuidle
    /// driver; nil when it is not loaded). With 0, every wake-up of an idle CPU waits for the
    /// hypervisor to run it again, which moved the sequential figures three- to fivefold here
    /// (docs/PERFORMANCE.md, "Measuring"): a figure to read beside them.
    package static func guestHaltPollNanoseconds() -> Int? {
        (try? String(contentsOfFile: "/sys/module/haltpoll/parameters/guest_halt_poll_ns", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

/// The rounds of one pinned layout: each a sequential measurement's figures.
package struct PlacedRounds {
    package var floor: [[String: Double]] = []
    /// Empty when the SwiftNIO floor was not measured.
    package var nio: [[String: Double]] = []
    package var sanlian: [[String: Double]] = []

    package init() {}
}

/// Every figure of one run.
package struct BenchResults {
    package var machine: String
    package var date: String

    package init(machine: String, date: String) {
        self.machine = machine
        self.date = date
    }
    /// Every round's figures per payload size.
    package var floorRounds: [Int: [[String: Double]]] = [:]
    /// The SwiftNIO floor's (empty when it was not measured).
    package var nioRounds: [Int: [[String: Double]]] = [:]
    package var sanlianRounds: [Int: [[String: Double]]] = [:]
    /// The median of each figure over the rounds.
    package var floor: [Int: [String: Double]] { floorRounds.mapValues(Self.medians) }
    package var nio: [Int: [String: Double]] { nioRounds.mapValues(Self.medians) }
    package var sanlian: [Int: [String: Double]] { sanlianRounds.mapValues(Self.medians) }
    package var publish: [String: Double] = [:]
    package var publishDeep: [String: Double] = [:]
    package var deliver: [String: Double] = [:]
    package var brokerPeakRSSKiB = 0
    package var echoPeakRSSKiB = 0
    /// Check-ins through the broker to sanlian-patrol (`bench_client unary`).
    package var checkIns: [String: Double] = [:]
    package var patrolPeakRSSKiB = 0
    /// sanlian-hazards: the monthly analysis over a year of data (sequential calls), what data, and
    /// hazard reports through the broker.
    package var monthlyAnalysis: [String: Double] = [:]
    package var monthlyAnalysisData = ""
    package var hazardReports: [String: Double] = [:]
    package var hazardsPeakRSSKiB = 0
    /// sanlian-residents: the import through the CLI, lookups and searches through the broker.
    package var residentsImportSeconds: Double?
    package var residentsImportSummary = ""
    package var residentsLookups: [String: Double] = [:]
    package var residentsSearches: [String: Double] = [:]
    package var residentsPeakRSSKiB = 0
    /// The whole township under a mixed load: each client's figures (by what it called), and each
    /// process's peak RSS.
    package var township: [(String, [String: Double])] = []
    package var townshipPeakRSSKiB: [(String, Int)] = []
    /// The roster solver on the benchmark's instance, and the instance's size.
    package var roster: RosterFigures?
    package var rosterInstance: (volunteers: Int, templates: Int, days: Int, locked: Int)?
    /// Whether the daemons' binaries were dropped from the page cache before they started.
    package var daemonsFromDisk = true
    /// The share of the machine's CPU time other processes used in the second before the run.
    package var busyBeforeRun: Double?
    /// Above this share the report says the machine was not quiet.
    package static let quietLimit = 0.1

    /// Whether other processes left the machine quiet before the run (true when unmeasured).
    package var wasQuiet: Bool { (busyBeforeRun ?? 0) <= Self.quietLimit }

    /// How busy other processes kept the machine before the run, and what that means for the figures.
    package var busyLine: String? {
        busyBeforeRun.map { busy in
            let share = String(format: "other processes used %.0f %% of the CPU time before the run", busy * 100)
            return busy > Self.quietLimit ? share + "; the figures do not compare with a quiet machine's" : share
        }
    }
    /// Sequential 64-byte rounds with the processes pinned, per layout, in the order measured.
    package var placements: [(layout: Placement, rounds: PlacedRounds)] = []

    package static func medians(_ rounds: [[String: Double]]) -> [String: Double] {
        var medians: [String: Double] = [:]
        for key in Set(rounds.flatMap(\.keys)) {
            let values = rounds.compactMap { $0[key] }.sorted()
            guard !values.isEmpty else { continue }
            medians[key] =
                values.count % 2 == 1
                ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
        }
        return medians
    }

    package struct Target {
        package var name: String
        package var value: Double
        package var limit: Double
        package var atMost: Bool
        package var met: Bool { atMost ? value <= limit : value >= limit }
    }

    package var targets: [Target] {
        let p50 = (sanlian[64]?["p50_us"] ?? 0) / max(floor[64]?["p50_us"] ?? 1, 0.001)
        let throughput = (sanlian[64]?["calls_per_second"] ?? 0) / max(floor[64]?["calls_per_second"] ?? 1, 1)
        return [
            Target(name: "sequential p50 / C relay (64 B)", value: p50, limit: 1.5, atMost: true),
            Target(name: "throughput, 64 in flight / C relay (64 B)", value: throughput, limit: 0.3, atMost: false),
            Target(
                name: "durable alerts published per second (4096 in flight)",
                value: publishDeep["alerts_per_second"] ?? 0,
                limit: 50_000,
                atMost: false
            ),
            Target(name: "broker peak RSS (MiB)", value: Double(brokerPeakRSSKiB) / 1024, limit: 20, atMost: true),
        ]
    }

    /// The patrol and hazards services' targets (their issues'): the month's roster solved well
    /// under a second, with no hard rule broken and a fairness spread of at most 1; the monthly
    /// analysis over a year of data well under a second.
    package var patrolTargets: [Target] {
        var targets: [Target] = []
        if let p50 = monthlyAnalysis["p50_us"] {
            targets.append(
                Target(name: "monthly analysis over a year (ms, p50)", value: p50 / 1000, limit: 1000, atMost: true)
            )
        }
        guard let roster else { return targets }
        return targets + [
            Target(name: "roster solved (ms, median)", value: roster.medianMilliseconds, limit: 1000, atMost: true),
            Target(
                name: "roster hard-rule violations (the independent checker's)",
                value: Double(roster.checkerViolations),
                limit: 0,
                atMost: true
            ),
            Target(name: "roster fairness spread", value: Double(roster.score.fairnessSpread), limit: 1, atMost: true),
        ]
    }

    /// The roster solver's figures in one line.
    package var rosterLine: String? {
        guard let roster, let size = rosterInstance else { return nil }
        let score = roster.score
        return String(
            format:
                "roster: %d days, %d shift templates, %d volunteers, %d locked: solved in %.0f ms (median of %d), "
                + "%d assignments, %d of %d places unfilled, fairness spread %d, preferences met %d of %d, "
                + "hard-rule violations %d",
            size.days,
            size.templates,
            size.volunteers,
            size.locked,
            roster.medianMilliseconds,
            roster.milliseconds.count,
            score.assignments,
            score.unfilledPlaces,
            score.assignments + score.unfilledPlaces,
            score.fairnessSpread,
            score.preferencesMet,
            score.preferencesStated,
            roster.checkerViolations
        )
    }

    package func report() -> String {
        let rounds = floorRounds.values.map(\.count).max() ?? 0
        var lines = ["", "Sanlian benchmark — \(date)", machine]
        if let busy = busyLine { lines.append(wasQuiet ? busy : "NOT QUIET: " + busy) }
        lines += ["medians of \(rounds) interleaved rounds", ""]
        func row(_ cells: [String]) -> String {
            zip(cells, [34, 14, 14, 24]).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined()
        }
        lines.append(row(["", "p50 (µs)", "p99 (µs)", "calls/s (64 in flight)"]))
        func ratioRow(_ title: String, _ s: [String: Double]?, _ f: [String: Double]?) {
            guard let s, let f else { return }
            lines.append(
                row([
                    "  ratio " + title,
                    String(format: "%.2f×", (s["p50_us"] ?? 0) / max(f["p50_us"] ?? 1, 0.001)),
                    String(format: "%.2f×", (s["p99_us"] ?? 0) / max(f["p99_us"] ?? 1, 0.001)),
                    String(format: "%.3f×", (s["calls_per_second"] ?? 0) / max(f["calls_per_second"] ?? 1, 1)),
                ])
            )
        }
        for size in [64, 1024] {
            let stacks = [
                ("C relay floor", floor[size]), ("SwiftNIO relay floor", nio[size]),
                ("Sanlian via broker", sanlian[size]),
            ]
            for (name, figures) in stacks {
                guard let figures else { continue }
                lines.append(
                    row([
                        "\(name), \(size) B", String(format: "%.1f", figures["p50_us"] ?? 0),
                        String(format: "%.1f", figures["p99_us"] ?? 0),
                        String(format: "%.0f", figures["calls_per_second"] ?? 0),
                    ])
                )
            }
            ratioRow("Sanlian / C floor", sanlian[size], floor[size])
            ratioRow("SwiftNIO floor / C floor", nio[size], floor[size])
            ratioRow("Sanlian / SwiftNIO floor", sanlian[size], nio[size])
        }
        // Each round's p50 as well: on a machine whose idle CPUs sleep, a sequential run settles
        // with its processes together on one CPU or apart, and stays so (docs/PERFORMANCE.md,
        // "Measuring"), which the medians alone hide.
        func p50s(_ rounds: [[String: Double]]?) -> String {
            (rounds ?? []).map { String(format: "%.1f", $0["p50_us"] ?? 0) }.joined(separator: ", ")
        }
        lines.append("")
        let nioP50s = nioRounds[64].map { "; SwiftNIO floor " + p50s($0) } ?? ""
        lines.append(
            "p50 of each round, 64 B (µs): floor \(p50s(floorRounds[64]))\(nioP50s); Sanlian \(p50s(sanlianRounds[64]))"
        )
        if let n = nio[64] {
            lines.append(
                String(
                    format: "CPU per sequential 64-byte call of the SwiftNIO floor (µs): relay %.1f, echo server %.1f",
                    n["relay_cpu_us"] ?? 0,
                    n["server_cpu_us"] ?? 0
                )
            )
        }
        if let s = sanlian[64], let f = floor[64] {
            lines.append(
                String(
                    format:
                        "CPU per sequential 64-byte call (µs, kernel time included): relay %.1f, echo server %.1f, "
                        + "client %.1f (floor); broker %.1f, echo service %.1f, client %.1f (Sanlian)",
                    f["relay_cpu_us"] ?? 0,
                    f["server_cpu_us"] ?? 0,
                    f["client_cpu_us"] ?? 0,
                    s["relay_cpu_us"] ?? 0,
                    s["server_cpu_us"] ?? 0,
                    s["client_cpu_us"] ?? 0
                )
            )
        }
        if !placements.isEmpty {
            lines.append("")
            lines.append("pinned alike (taskset), sequential 64-byte calls, medians; not what the targets judge:")
            for (layout, rounds) in placements {
                let (f, s) = (Self.medians(rounds.floor), Self.medians(rounds.sanlian))
                let n = rounds.nio.isEmpty ? nil : Self.medians(rounds.nio)
                lines.append(
                    String(
                        format:
                            "  %@: p50 floor %.1f µs, Sanlian %.1f µs (%.2f×); CPU per call, relay + echo server "
                            + "%.1f µs, broker + echo service %.1f µs",
                        layout.title,
                        f["p50_us"] ?? 0,
                        s["p50_us"] ?? 0,
                        (s["p50_us"] ?? 0) / max(f["p50_us"] ?? 1, 0.001),
                        (f["relay_cpu_us"] ?? 0) + (f["server_cpu_us"] ?? 0),
                        (s["relay_cpu_us"] ?? 0) + (s["server_cpu_us"] ?? 0)
                    )
                )
                if let n {
                    lines.append(
                        String(
                            format:
                                "    SwiftNIO floor: p50 %.1f µs (%.2f× the C floor); CPU per call, relay + echo server %.1f µs",
                            n["p50_us"] ?? 0,
                            (n["p50_us"] ?? 0) / max(f["p50_us"] ?? 1, 0.001),
                            (n["relay_cpu_us"] ?? 0) + (n["server_cpu_us"] ?? 0)
                        )
                    )
                }
            }
        }
        lines.append("")
        lines.append(
            String(
                format:
                    "durable alert publishing (each acknowledged once on disk): %.0f alerts/s with 512 in flight, %.0f with 4096",
                publish["alerts_per_second"] ?? 0,
                publishDeep["alerts_per_second"] ?? 0
            )
        )
        lines.append(
            String(format: "delivery to a durable subscriber: %.0f events/s", deliver["events_per_second"] ?? 0)
        )
        // One decimal: whole MiB would print 19.96 as 19 against a limit of 20.
        lines.append(
            String(
                format: "peak RSS: broker %.1f MiB, echo service %.1f MiB (%@)",
                Double(brokerPeakRSSKiB) / 1024,
                Double(echoPeakRSSKiB) / 1024,
                daemonsFromDisk ? "started from disk" : "started from the page cache as it was"
            )
        )
        if !checkIns.isEmpty, let echo = sanlian[64] {
            lines.append(
                String(
                    format:
                        "check-ins through the broker to sanlian-patrol (each a committed transaction): sequential p50 %.1f µs, "
                        + "p99 %.1f µs (the echo call: %.1f µs, %.1f µs); %.0f check-ins/s with 16 in flight (p50 %.1f µs, p99 %.1f µs)",
                    checkIns["p50_us"] ?? 0,
                    checkIns["p99_us"] ?? 0,
                    echo["p50_us"] ?? 0,
                    echo["p99_us"] ?? 0,
                    checkIns["calls_per_second"] ?? 0,
                    checkIns["loaded_p50_us"] ?? 0,
                    checkIns["loaded_p99_us"] ?? 0
                )
            )
            lines.append(String(format: "peak RSS of sanlian-patrol: %.1f MiB", Double(patrolPeakRSSKiB) / 1024))
        }
        if let line = rosterLine { lines.append(line) }
        if !monthlyAnalysis.isEmpty, let echo = sanlian[64] {
            lines.append(
                String(
                    format:
                        "monthly analysis over a year (%@): p50 %.1f ms, p99 %.1f ms (20 sequential calls through the broker)",
                    monthlyAnalysisData,
                    (monthlyAnalysis["p50_us"] ?? 0) / 1000,
                    (monthlyAnalysis["p99_us"] ?? 0) / 1000
                )
            )
            lines.append(
                String(
                    format:
                        "hazard reports through the broker to sanlian-hazards (each committed with its alert): sequential p50 %.1f µs, "
                        + "p99 %.1f µs (the echo call: %.1f µs); %.0f reports/s with 16 in flight (p50 %.1f µs, p99 %.1f µs)",
                    hazardReports["p50_us"] ?? 0,
                    hazardReports["p99_us"] ?? 0,
                    echo["p50_us"] ?? 0,
                    hazardReports["calls_per_second"] ?? 0,
                    hazardReports["loaded_p50_us"] ?? 0,
                    hazardReports["loaded_p99_us"] ?? 0
                )
            )
            lines.append(String(format: "peak RSS of sanlian-hazards: %.1f MiB", Double(hazardsPeakRSSKiB) / 1024))
        }
        if let seconds = residentsImportSeconds, let echo = sanlian[64] {
            lines.append(
                String(format: "residents import through the CLI (%@): %.1f s", residentsImportSummary, seconds)
            )
            for (what, figures) in [
                ("lookups by ID number", residentsLookups), ("searches by name", residentsSearches),
            ] {
                lines.append(
                    String(
                        format:
                            "residents %@ through the broker: p50 %.1f µs, p99 %.1f µs (the echo call: %.1f µs, %.1f µs); "
                            + "%.0f/s with 16 in flight (p50 %.1f µs, p99 %.1f µs)",
                        what,
                        figures["p50_us"] ?? 0,
                        figures["p99_us"] ?? 0,
                        echo["p50_us"] ?? 0,
                        echo["p99_us"] ?? 0,
                        figures["calls_per_second"] ?? 0,
                        figures["loaded_p50_us"] ?? 0,
                        figures["loaded_p99_us"] ?? 0
                    )
                )
            }
            lines.append(String(format: "peak RSS of sanlian-residents: %.1f MiB", Double(residentsPeakRSSKiB) / 1024))
        }
        if !township.isEmpty {
            lines.append(
                "the township under a mixed load (every client at once, a live watcher reading the feed; each client's own rate):"
            )
            for (name, figures) in township {
                let rate = figures["calls_per_second"] ?? figures["alerts_per_second"] ?? 0
                if let p50 = figures["loaded_p50_us"], let p99 = figures["loaded_p99_us"] {
                    lines.append(String(format: "  %@: %.0f/s, p50 %.1f µs, p99 %.1f µs", name, rate, p50, p99))
                } else {
                    lines.append(String(format: "  %@: %.0f/s, each acknowledged once on disk", name, rate))
                }
            }
            lines.append(
                "  peak RSS: "
                    + townshipPeakRSSKiB.map { String(format: "%@ %.1f MiB", $0.0, Double($0.1) / 1024) }
                    .joined(separator: ", ")
            )
        }
        lines.append("")
        lines.append("targets:")
        for target in targets + patrolTargets {
            let comparison = target.atMost ? "≤" : "≥"
            lines.append(
                String(
                    format: "  %@ %@: %.4g (target %@ %.4g)",
                    target.met ? "met    " : "NOT met",
                    target.name,
                    target.value,
                    comparison,
                    target.limit
                )
            )
        }
        return lines.joined(separator: "\n")
    }

    package func json() throws -> String {
        /// Keyed by payload size as "64B".
        func sized<Figures>(_ figures: [Int: Figures]) -> [String: Any] {
            Dictionary(uniqueKeysWithValues: figures.map { ("\($0.key)B", $0.value) })
        }
        var object: [String: Any] = [
            "date": date,
            "machine": machine,
            "floor_c_relay": sized(floor),
            "sanlian_brokered_echo": sized(sanlian),
            "rounds": [
                "floor_c_relay": sized(floorRounds),
                "floor_swiftnio_relay": sized(nioRounds),
                "sanlian_brokered_echo": sized(sanlianRounds),
            ],
            "durable_publish_512_in_flight": publish,
            "durable_publish_4096_in_flight": publishDeep,
            "durable_delivery": deliver,
            "peak_rss_kib": ["broker": brokerPeakRSSKiB, "echo": echoPeakRSSKiB],
            "daemons_started_from_disk": daemonsFromDisk,
            "cpu_busy_share_before_run": busyBeforeRun.map { $0 as Any } ?? NSNull(),
            "pinned_sequential_64B": Dictionary(
                uniqueKeysWithValues: placements.map { layout, rounds in
                    (
                        layout.key,
                        [
                            "layout": layout.title,
                            "floor_c_relay": Self.medians(rounds.floor),
                            "floor_swiftnio_relay": Self.medians(rounds.nio),
                            "sanlian_brokered_echo": Self.medians(rounds.sanlian),
                            "rounds": [
                                "floor_c_relay": rounds.floor, "floor_swiftnio_relay": rounds.nio,
                                "sanlian_brokered_echo": rounds.sanlian,
                            ],
                        ] as [String: Any]
                    )
                }
            ),
            "targets": (targets + patrolTargets).map {
                ["name": $0.name, "value": $0.value, "limit": $0.limit, "met": $0.met] as [String: Any]
            },
            "patrol_check_ins": checkIns,
            "hazards_monthly_analysis": monthlyAnalysis,
            "hazards_monthly_analysis_data": monthlyAnalysisData,
            "hazards_reports": hazardReports,
            "hazards_peak_rss_kib": hazardsPeakRSSKiB,
            "residents_import_seconds": residentsImportSeconds.map { $0 as Any } ?? NSNull(),
            "residents_import": residentsImportSummary,
            "residents_lookups": residentsLookups,
            "residents_searches": residentsSearches,
            "residents_peak_rss_kib": residentsPeakRSSKiB,
            "patrol_peak_rss_kib": patrolPeakRSSKiB,
            "township_mixed_load": Dictionary(township.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first }),
            "township_peak_rss_kib": Dictionary(
                townshipPeakRSSKiB.map { ($0.0, $0.1) },
                uniquingKeysWith: { a, _ in a }
            ),
        ]
        if let roster {
            object["roster"] =
                [
                    "milliseconds": roster.milliseconds, "median_milliseconds": roster.medianMilliseconds,
                    "assignments": roster.score.assignments, "unfilled_places": roster.score.unfilledPlaces,
                    "fairness_spread": roster.score.fairnessSpread, "hard_violations": roster.checkerViolations,
                    "preferences_met": roster.score.preferencesMet,
                    "preferences_stated": roster.score.preferencesStated,
                ] as [String: Any]
        }
        if !nioRounds.isEmpty { object["floor_swiftnio_relay"] = sized(nio) }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
