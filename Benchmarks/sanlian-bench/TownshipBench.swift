import BenchSupport
import Foundation
import SanlianContracts
import SanlianWire
import Synchronization

extension SanlianBench {
    /// The whole township under a mixed load, all at once on the data the department benchmarks
    /// left: check-ins, hazard reports, resident lookups and durable alerts, each from a C load
    /// generator of its own, with a live watcher (`sanlian watch`) reading the feed and the echo
    /// call measured beside them. Each client's own rate and loaded p99; each process's peak RSS.
    func measureTownship(into results: inout BenchResults, state: String, station: [String], broker: Background) throws
    {
        let brokerSocket = state + "/run/broker.sock"
        let services = try ["sanlian-residents", "sanlian-hazards", "sanlian-patrol", "sanlian-station"].map {
            (
                $0,
                try Background(
                    binDir + "/" + $0,
                    ["--compose", compose, "--state-dir", state, "--log-level", "warning"]
                )
            )
        }
        defer { for (_, service) in services { service.stop() } }
        let checkIns = state + "/bench-check-ins.bin"
        let reports = state + "/bench-reports.bin"
        let lookups = state + "/bench-lookups.bin"
        let echoes = state + "/bench-echo.bin"
        try Self.payloads((0..<16).map { EchoV1.EchoRequest(payload: [UInt8](repeating: UInt8($0), count: 64)) })
            .write(to: URL(fileURLWithPath: echoes))
        let governance = ["governance", state + "/secrets/governance.secret"]
        let traffic = ["traffic", state + "/secrets/traffic.secret"]
        progress("the township: waiting for every service to register")
        for (method, payloads, identity) in [
            ("/sanlian.residents.v1.Population/GetPerson", lookups, station),
            ("/sanlian.patrol.v1.Patrols/CheckIn", checkIns, governance),
            ("/sanlian.hazards.v1.Hazards/Report", reports, traffic),
        ] {
            try waitUntil("\(method) to be served", timeout: 30) {
                (try? runClient(["unary", brokerSocket, method, payloads, "0", "1", "1"] + identity)) != nil
            }
        }
        let watcher = try Background(
            binDir + "/sanlian",
            ["watch", "--json", "--name", "bench-mixed", "--pattern", "alert.>", "--dir", state]
        )
        defer { watcher.stop() }

        let clients: [(name: String, arguments: [String])] = [
            (
                "check-ins",
                ["unary", brokerSocket, "/sanlian.patrol.v1.Patrols/CheckIn", checkIns, "0", "6000", "4"] + governance
            ),
            (
                "hazard reports",
                ["unary", brokerSocket, "/sanlian.hazards.v1.Hazards/Report", reports, "0", "3000", "4"] + traffic
            ),
            (
                "resident lookups",
                ["unary", brokerSocket, "/sanlian.residents.v1.Population/GetPerson", lookups, "0", "20000", "4"]
                    + station
            ),
            ("alerts", ["publish", brokerSocket, "50000", "64"] + traffic),
            (
                "the echo call",
                ["unary", brokerSocket, "/sanlian.echo.v1.Echo/Echo", echoes, "0", "20000", "1"] + station
            ),
        ]
        progress(
            "the township under mixed load: \(clients.map(\.name).joined(separator: ", ")) at once, a watcher reading"
        )
        let figures = LockedFigures(count: clients.count)
        DispatchQueue.concurrentPerform(iterations: clients.count) { index in
            figures.set(index, Result { try runClient(clients[index].arguments) })
        }
        var mixed: [(String, [String: Double])] = []
        for (index, client) in clients.enumerated() {
            mixed.append((client.name, try figures.get(index)))
        }
        results.township = mixed
        results.townshipPeakRSSKiB =
            [("sanlian-broker", peakRSS(pid: broker.pid))] + services.map { ($0.0, peakRSS(pid: $0.1.pid)) }
    }
}

/// Each concurrent client's figures, or its error, by index.
private final class LockedFigures: Sendable {
    private let results: Mutex<[Result<[String: Double], any Error>?]>

    init(count: Int) { results = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ result: Result<[String: Double], any Error>) {
        results.withLock { $0[index] = result }
    }

    func get(_ index: Int) throws -> [String: Double] {
        try results.withLock { $0[index] }!.get()
    }
}
