import BenchSupport
import Foundation
import PatrolContract
import PatrolRules
import SanlianClock
import SanlianWire

extension SanlianBench {
    /// The roster solver on the benchmark's township (`RosterInstance.township`), in this process.
    func measureRoster(into results: inout BenchResults) throws {
        let instance = RosterInstance.township(seed: rosterSeed, volunteers: 500, areas: 20, days: 31, locks: 50)
        if let path = writeRosterInstance {
            try instance.json().write(to: URL(fileURLWithPath: path))
            progress("roster instance written to \(path)")
        }
        progress(
            "roster: 31 days, 20 areas × 3 shifts, 500 volunteers, \(instance.locked.count) locked; solving \(rosterRuns) times"
        )
        results.roster = try RosterFigures.measure(instance, runs: rosterRuns)
        results.rosterInstance = (instance.volunteers.count, instance.shiftTemplates.count, 31, instance.locked.count)
    }

    /// 10,000 check-ins (`/sanlian.patrol.v1.Patrols/CheckIn`) through the broker to sanlian-patrol,
    /// each a committed transaction, by the same C load generator as the echo calls: 1,000
    /// sequential, then `checkIns` with 16 in flight, spread over the 50 assignments of a shift
    /// running now.
    func measureCheckIns(into results: inout BenchResults, state: String, station: [String]) throws {
        let brokerSocket = state + "/run/broker.sock"
        let patrol = try Background(
            binDir + "/sanlian-patrol",
            ["--compose", compose, "--state-dir", state, "--log-level", "warning"]
        )
        defer { patrol.stop() }
        func cli(_ arguments: [String]) throws -> Data {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binDir + "/sanlian")
            process.arguments = ["patrol"] + arguments + ["--dir", state]
            let (output, message) = try runToCompletion(process, within: 120, named: "sanlian patrol \(arguments[0])")
            guard process.terminationStatus == 0 else {
                throw BenchError(
                    "sanlian patrol \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))"
                )
            }
            return output
        }
        progress("sanlian-patrol: setting up a shift running now with 50 volunteers on it")
        try waitUntil("sanlian-patrol to register", timeout: 20) {
            (try? cli(["area", "add", "bench", "--name", "bench", "--kind", "road"])) != nil
        }
        let csv = state + "/bench-volunteers.csv"
        let rows = (0..<60).map { index in
            String(format: "b%03d,志愿者%03d,138%08d,%@", index, index, index, index % 5 == 0 ? "veteran" : "activist")
        }
        try (["id,name,phone,kind"] + rows).joined(separator: "\n").write(
            toFile: csv,
            atomically: true,
            encoding: .utf8
        )
        _ = try cli(["volunteer", "import", csv])
        let time = TownshipTime()
        let start = Int64(Date().timeIntervalSince1970 * 1000) - 5 * 60_000
        let minute = time.minuteOfDay(start)
        func clock(_ minute: Int) -> String { String(format: "%02d:%02d", minute / 60 % 24, minute % 60) }
        _ = try cli([
            "shift", "add", "now", "--area", "bench", "--name", "day", "--start", clock(minute), "--end",
            clock(minute + 180), "--people", "50",
        ])
        let day = time.day(of: start).description
        _ = try cli(["roster", "generate", "--from", day, "--to", day])
        let listed = try JSONSerialization.jsonObject(
            with: try cli(["roster", "show", "--from", day, "--to", day, "--json"])
        )
        let assignments = ((listed as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        guard !assignments.isEmpty else { throw BenchError("the check-in benchmark's roster is empty") }
        var payloads = Data()
        for assignment in assignments {
            let request = try PatrolV1.CheckInRequest(assignmentID: assignment).serializedBytes()
            withUnsafeBytes(of: UInt32(request.count).bigEndian) { payloads.append(contentsOf: $0) }
            payloads.append(contentsOf: request)
        }
        let payloadFile = state + "/bench-check-ins.bin"
        try payloads.write(to: URL(fileURLWithPath: payloadFile))
        progress("sanlian-patrol: 1000 sequential check-ins, then \(checkIns) with 16 in flight")
        results.checkIns = try runClient(
            ["unary", brokerSocket, "/sanlian.patrol.v1.Patrols/CheckIn", payloadFile, "1000", String(checkIns), "16"]
                + station
        )
        results.patrolPeakRSSKiB = peakRSS(pid: patrol.pid)
    }
}
