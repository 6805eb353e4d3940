import ArgumentParser
import BenchSupport
import Foundation

/// sanlian-bench: measures, in one run, the C floor (an epoll echo server behind an epoll relay),
/// the same floor written on bare SwiftNIO (`nio-floor`), and Sanlian's brokered call path with
/// the same C load generator, plus durable alert publishing, delivery to a durable subscriber,
/// and the peak memory of the broker and the echo service. Prints a table with the ratios to the
/// floors and writes the figures as JSON.
@main
struct SanlianBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sanlian-bench",
        abstract: "Benchmark the brokered call path and the alert ledger against a raw C Unix-socket floor."
    )

    @Option(help: "Directory with the release builds of sanlian-broker, sanlian-echo and nio-floor.")
    var binDir: String = ".build/release"

    @Option(help: "Directory with the C programs (echo_server, relay, bench_client).")
    var cDir: String = ".build/bench"

    @Option(help: "The compose file to start the broker with.")
    var compose: String = "compose/township.yaml"

    @Option(help: "Where to write the figures as JSON.")
    var output: String = "bench-results.json"

    @Option(help: "Seconds of each throughput measurement.")
    var seconds: Int = 2

    @Option(help: "Sequential round trips per latency measurement.")
    var roundTrips: Int = 10_000

    @Option(help: "Rounds of call measurements, the floors and Sanlian taking turns; medians are reported.")
    var rounds: Int = 3

    func validate() throws {
        guard seconds > 0, roundTrips > 0, rounds > 0, alerts > 0, rosterRuns > 0, checkIns > 0 else {
            throw ValidationError(
                "--seconds, --round-trips, --rounds, --alerts, --roster-runs and --check-ins must be positive"
            )
        }
    }

    @Option(help: "Alerts to publish (and then deliver).")
    var alerts: Int = 50_000

    @Option(
        help: ArgumentHelp(
            "Run sanlian-broker and sanlian-echo under this command, split at spaces (a profiler).",
            discussion:
                "Their figures then measure the wrapper too: for profiles (bench/tools/symbol_order.py), not results."
        )
    )
    var daemonWrapper: String = ""

    @Flag(
        help: ArgumentHelp(
            "Start the daemons from their binaries' pages as the page cache holds them.",
            discussion:
                "By default their pages are written back and dropped first, so that every run starts them as "
                + "from disk. A binary's pages sit in the page cache in folios whose size depends on how they "
                + "got there (written by the linker, copied, read through), faults map larger folios in larger "
                + "pieces, and the daemons' resident memory would depend on that: the idle broker's start-up "
                + "peak measured 14.1–14.5 MiB started from disk and 19.2 MiB after its binary had been read "
                + "through with cat (docs/PERFORMANCE.md, \"What make bench measures\")."
        )
    )
    var keepPageCache = false

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "Also measure sequential 64-byte calls with both sides' processes pinned alike (taskset).",
            discussion:
                "Two layouts: all three processes on one CPU, and the client on one CPU with the rest on "
                + "another. Unpinned, the scheduler leaves them in either arrangement for a whole run, and the "
                + "arrangement moves the p50 more than the code does; pinned, each layout measures the code. "
                + "The targets are judged on the unpinned rounds."
        )
    )
    var placement = true

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "Also measure the floor written on bare SwiftNIO (nio-floor: a byte relay and a byte echo).",
            discussion:
                "It sits between the C floor and Sanlian: what SwiftNIO costs on this machine, and what the RPC "
                + "runtime and the broker add on top of it. The targets are judged against the C floor."
        )
    )
    var nioFloor = true

    @Option(help: "Seed of the roster benchmark's instance.")
    var rosterSeed: UInt64 = 1

    @Option(help: "Times the roster benchmark's instance is solved (after one warm-up); the median is reported.")
    var rosterRuns: Int = 5

    @Option(help: "Write the roster benchmark's instance as JSON to this file (docs/ROSTER-INSTANCE.md).")
    var writeRosterInstance: String?

    @Option(help: "Check-ins to make through the broker with 16 in flight (after 1000 sequential).")
    var checkIns: Int = 10_000

    @Flag(
        inversion: .prefixedNo,
        help:
            "Also measure the department services: the roster solver, check-ins, the monthly analysis and hazard reports."
    )
    var patrol = true

    @Flag(help: "Measure only the roster solver (no processes started), and print its figures.")
    var rosterOnly = false

    /// Seconds one run of the load generator may take (a profiler slows the daemons tenfold and more).
    var clientTimeout: TimeInterval { daemonWrapper.isEmpty ? 300 : 3600 }

    func run() throws {
        if rosterOnly {
            var results = BenchResults(machine: Machine.describe(), date: ISO8601DateFormatter().string(from: Date()))
            try measureRoster(into: &results)
            print(results.rosterLine ?? "")
            for target in results.patrolTargets {
                print(String(format: "  %@ %@: %.4g", target.met ? "met    " : "NOT met", target.name, target.value))
            }
            return
        }
        let work = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        var results = BenchResults(machine: Machine.describe(), date: ISO8601DateFormatter().string(from: Date()))
        results.daemonsFromDisk = !keepPageCache
        // Anything else busy on the machine moves every figure: a process spinning on one CPU of
        // two keeps that CPU awake and takes half the machine (docs/PERFORMANCE.md, "What make bench measures").
        results.busyBeforeRun = Machine.busyShare(over: 1)
        if !results.wasQuiet, let busy = results.busyLine { progress("warning: " + busy) }

        // The floors and Sanlian run side by side and take turns, round after round: this shared
        // machine's speed drifts by tens of per cent within a minute, and a ratio of medians of
        // interleaved measurements is far steadier than one of two measurements a minute apart.
        progress(
            nioFloor
                ? "starting the floors (echo server and relay, in C and on SwiftNIO), sanlian-broker and sanlian-echo"
                : "starting the floor (C echo server and relay), sanlian-broker and sanlian-echo"
        )
        let echoServer = try Background(cDir + "/echo_server", [work + "/floor-echo.sock"])
        defer { echoServer.stop() }
        try waitForSocket(work + "/floor-echo.sock")
        let relay = try Background(cDir + "/relay", [work + "/floor-relay.sock", work + "/floor-echo.sock"])
        defer { relay.stop() }
        try waitForSocket(work + "/floor-relay.sock")
        var nioProcesses: [Background] = []
        defer { for process in nioProcesses { process.stop() } }
        var nio: Stack?
        if nioFloor {
            let nioEcho = try Background(binDir + "/nio-floor", ["echo", work + "/nio-echo.sock"])
            nioProcesses.append(nioEcho)
            try waitForSocket(work + "/nio-echo.sock")
            let nioRelay = try Background(
                binDir + "/nio-floor",
                ["relay", work + "/nio-relay.sock", work + "/nio-echo.sock"]
            )
            nioProcesses.append(nioRelay)
            try waitForSocket(work + "/nio-relay.sock")
            nio = Stack(relay: nioRelay.pid, server: nioEcho.pid, call: ["raw", work + "/nio-relay.sock"])
        }

        // A profiler slows start-up tenfold and more.
        let startup: TimeInterval = daemonWrapper.isEmpty ? 20 : 300
        let wrapper = daemonWrapper.split(separator: " ").map(String.init)
        if !keepPageCache {
            for daemon in ["sanlian-broker", "sanlian-echo"] { try dropFromPageCache(binDir + "/" + daemon) }
        }
        let state = work + "/var"
        let broker = try Background(
            binDir + "/sanlian-broker",
            ["--compose", compose, "--state-dir", state, "--log-level", "warning"],
            under: wrapper
        )
        defer { broker.stop() }
        let brokerSocket = state + "/run/broker.sock"
        try waitForSocket(brokerSocket, timeout: startup)
        let echo = try Background(
            binDir + "/sanlian-echo",
            [
                "--broker", brokerSocket, "--department", "traffic", "--credential-file",
                state + "/secrets/traffic.secret",
                // The benchmarked call measures the runtime and the broker, not a hand-off to a
                // handler thread.
                "--on-event-loop", "--log-level", "warning",
            ],
            under: wrapper
        )
        defer { echo.stop() }
        let station = ["station", state + "/secrets/station.secret"]
        try waitUntil("the echo service to register", timeout: startup) {
            (try? runClient(["echo", brokerSocket, "8", "1", "1", "50"] + station)) != nil
        }

        let floor = Stack(relay: relay.pid, server: echoServer.pid, call: ["raw", work + "/floor-relay.sock"])
        let sanlian = Stack(relay: broker.pid, server: echo.pid, call: ["echo", brokerSocket], identity: station)
        var floorRounds: [Int: [[String: Double]]] = [:]
        var nioRounds: [Int: [[String: Double]]] = [:]
        var sanlianRounds: [Int: [[String: Double]]] = [:]
        for round in 1...rounds {
            for size in [64, 1024] {
                progress(
                    "round \(round) of \(rounds): \(size)-byte calls, \(nio == nil ? "floor" : "floors") then Sanlian"
                )
                floorRounds[size, default: []].append(try measureCalls(floor, size: size))
                if let nio { nioRounds[size, default: []].append(try measureCalls(nio, size: size)) }
                sanlianRounds[size, default: []].append(try measureCalls(sanlian, size: size))
            }
        }
        results.floorRounds = floorRounds
        results.nioRounds = nioRounds
        results.sanlianRounds = sanlianRounds
        if placement {
            do {
                try measurePlaced(into: &results, floor: floor, nio: nio, sanlian: sanlian)
            } catch {
                // A machine that refuses affinity (a restricted container) still gets the rest.
                progress("the pinned measurements were skipped: \(error)")
                results.placements = []
            }
        }
        relay.stop()
        echoServer.stop()
        for process in nioProcesses { process.stop() }

        // Group commit trades each alert's wait for throughput: measured at two depths.
        progress("sanlian: publishing \(alerts) durable alerts, 512 in flight")
        results.publish = try runClient(
            ["publish", brokerSocket, String(alerts), "512", "traffic", state + "/secrets/traffic.secret"])
        progress("sanlian: publishing \(alerts * 2) durable alerts, 4096 in flight")
        results.publishDeep = try runClient(
            ["publish", brokerSocket, String(alerts * 2), "4096", "traffic", state + "/secrets/traffic.secret"])
        progress("sanlian: delivering all \(alerts * 3) to a durable subscriber")
        results.deliver = try runClient(["subscribe", brokerSocket, String(alerts * 3), "bench"] + station)
        results.brokerPeakRSSKiB = peakRSS(pid: broker.pid)
        results.echoPeakRSSKiB = peakRSS(pid: echo.pid)
        if patrol {
            // After the broker's peak is taken: the patrol service's calls are not the broker's
            // targets' workload.
            try measureCheckIns(into: &results, state: state, station: station)
            try measureRoster(into: &results)
            try measureHazards(into: &results, state: state, station: station)
            try measureResidents(into: &results, state: state, station: station)
            try measureTownship(into: &results, state: state, station: station, broker: broker)
        }

        let report = results.report()
        print(report)
        try results.json().write(toFile: output, atomically: true, encoding: .utf8)
        print("figures written to \(output)")
    }

    /// One round of call measurements of `stack` with `size`-byte payloads: `roundTrips`
    /// sequential calls, with the CPU time each process spent per call (the relay or broker, the
    /// echo server or service, the C client; kernel time included), then throughput with 64 calls
    /// in flight.
    func measureCalls(_ stack: Stack, size: Int) throws -> [String: Double] {
        var figures = try measureSequential(stack, size: size)
        let throughput = try runClient(stack.call + [String(size), "1", "64", String(seconds * 1000)] + stack.identity)
        figures["calls_per_second"] = throughput["calls_per_second"]
        return figures
    }

    /// The sequential 64-byte measurement again, `rounds` times per layout, the floors then
    /// Sanlian, with every stack's daemons pinned to the layout's CPU and the load generator to
    /// its own. The daemons are free to run anywhere again afterwards.
    func measurePlaced(into results: inout BenchResults, floor: Stack, nio: Stack?, sanlian: Stack) throws {
        let allowed = CPUAffinity.allowed()
        let daemons = ([floor, sanlian] + (nio.map { [$0] } ?? [])).flatMap { [$0.relay, $0.server] }
        // The ledger's measurements run unpinned, as the call rounds did.
        defer { for pid in daemons { try? CPUAffinity.pin(pid, to: allowed) } }
        for layout in Placement.layouts(allowed: allowed) {
            for pid in daemons { try CPUAffinity.pin(pid, to: [layout.daemonsCPU]) }
            var measured = PlacedRounds()
            for round in 1...rounds {
                progress(
                    "placement \(layout.title), round \(round) of \(rounds): \(nio == nil ? "floor" : "floors") then Sanlian"
                )
                measured.floor.append(try measureSequential(floor, size: 64, clientCPU: layout.clientCPU))
                if let nio { measured.nio.append(try measureSequential(nio, size: 64, clientCPU: layout.clientCPU)) }
                measured.sanlian.append(try measureSequential(sanlian, size: 64, clientCPU: layout.clientCPU))
            }
            results.placements.append((layout, measured))
        }
    }

    /// `roundTrips` sequential calls of `stack`: p50, p99 and the CPU time each process spent per call.
    /// - Parameter clientCPU: the CPU to run the load generator on; any when nil.
    func measureSequential(_ stack: Stack, size: Int, clientCPU: Int? = nil) throws -> [String: Double] {
        let before = (relay: cpuNanoseconds(pid: stack.relay), server: cpuNanoseconds(pid: stack.server))
        // The client reports its own CPU per sequential call, and how many calls it made in all
        // (warm-up included), which the others' CPU over its run is divided by.
        var figures = try runClient(
            stack.call + [String(size), String(roundTrips), "1", "0"] + stack.identity,
            cpu: clientCPU
        )
        let calls = max(figures.removeValue(forKey: "calls") ?? Double(roundTrips), 1)
        figures["relay_cpu_us"] = Double(cpuNanoseconds(pid: stack.relay) &- before.relay) / 1000 / calls
        figures["server_cpu_us"] = Double(cpuNanoseconds(pid: stack.server) &- before.server) / 1000 / calls
        return figures
    }

    func progress(_ line: String) {
        FileHandle.standardError.write(Data("sanlian-bench: \(line)\n".utf8))
    }

    /// Runs the C load generator (on `cpu` alone when given) and parses the JSON object it prints.
    /// A run that has not finished after `clientTimeout` seconds is killed and reported: a stack that
    /// stopped answering would otherwise hold the benchmark forever.
    func runClient(_ arguments: [String], cpu: Int? = nil) throws -> [String: Double] {
        let process = Process()
        let client = cDir + "/bench_client"
        if let cpu {
            process.executableURL = URL(fileURLWithPath: CPUAffinity.taskset)
            process.arguments = ["--cpu-list", String(cpu), client] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: client)
            process.arguments = arguments
        }
        let (data, message) = try runToCompletion(
            process,
            within: clientTimeout,
            named: "bench_client \(arguments.first ?? "")"
        )
        guard process.terminationStatus == 0,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw BenchError(
                "bench_client \(arguments.first ?? "") failed: \(String(decoding: message, as: UTF8.self))"
            )
        }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}
