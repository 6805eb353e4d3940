import BenchSupport
import Foundation
import GRDB
import HazardsContract
import SanlianClock
import SanlianWire

extension SanlianBench {
    /// sanlian-hazards: the monthly analysis over a year of data (written straight into its
    /// database: 10,000 disputes with follow-ups, 50,000 hazards with their escalations), then
    /// hazard reports through the broker, each committed with its alert.
    func measureHazards(into results: inout BenchResults, state: String, station: [String]) throws {
        let brokerSocket = state + "/run/broker.sock"
        let hazards = try Background(
            binDir + "/sanlian-hazards",
            ["--compose", compose, "--state-dir", state, "--log-level", "warning"]
        )
        defer { hazards.stop() }
        func cli(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binDir + "/sanlian")
            process.arguments = arguments + ["--dir", state]
            let (_, message) = try runToCompletion(process, within: 120, named: "sanlian \(arguments[0])")
            guard process.terminationStatus == 0 else {
                throw BenchError(
                    "sanlian \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))"
                )
            }
        }
        try waitUntil("sanlian-hazards to register", timeout: 20) { (try? cli(["hazards", "list"])) != nil }

        let time = TownshipTime()
        let today = time.day(of: Int64(Date().timeIntervalSince1970 * 1000))
        let (year, month, _) = today.components
        progress("sanlian-hazards: writing a year of data (10,000 disputes, 50,000 hazards) before \(year)-\(month)")
        let populated = try JointControlYear.populate(
            path: state + "/data/hazards.sqlite",
            disputes: 10_000,
            hazards: 50_000,
            until: LocalDay(year: year, month: month, day: 1)!,
            time: time
        )
        let analysisFile = state + "/bench-analysis.bin"
        let (previousYear, previousMonth) = month == 1 ? (year - 1, 12) : (year, month - 1)
        try Self.payloads(
            [
                HazardsV1.MonthlyAnalysisRequest(
                    month: CommonV1.Month(year: Int32(previousYear), month: Int32(previousMonth))
                )
            ]
        ).write(to: URL(fileURLWithPath: analysisFile))
        progress("sanlian-hazards: the monthly analysis of \(previousYear)-\(previousMonth), 20 times")
        results.monthlyAnalysis = try runClient(
            ["unary", brokerSocket, "/sanlian.hazards.v1.Disputes/MonthlyAnalysis", analysisFile, "20", "1", "1"]
                + station
        )
        results.monthlyAnalysisData = populated

        let reportFile = state + "/bench-reports.bin"
        try Self.payloads(
            (0..<100).map { index in
                HazardsV1.ReportHazardRequest(
                    kind: [.traffic, .fire, .construction, .publicOrder][index % 4],
                    place: CommonV1.Place(villageCode: "5116811042\(String(format: "%02d", index % 20 + 1))"),
                    description: "基准测试隐患 \(index)：路面坑洼，需设置警示"
                )
            }
        ).write(to: URL(fileURLWithPath: reportFile))
        progress("sanlian-hazards: 1000 sequential hazard reports, then \(checkIns) with 16 in flight")
        results.hazardReports = try runClient(
            ["unary", brokerSocket, "/sanlian.hazards.v1.Hazards/Report", reportFile, "1000", String(checkIns), "16"]
                + station
        )
        results.hazardsPeakRSSKiB = peakRSS(pid: hazards.pid)
    }

    /// Requests as `bench_client unary` reads them: each a 4-byte big-endian length and its encoding.
    static func payloads(_ requests: [some WireMessage]) throws -> Data {
        var data = Data()
        for request in requests {
            let bytes = try request.serializedBytes()
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: bytes)
        }
        return data
    }
}

/// A year of joint-control records written straight into sanlian-hazards' database (its tables
/// as its migrations leave them), as the monthly analysis reads them: the benchmark's data.
enum JointControlYear {
    /// - Returns: what was written, for the report.
    static func populate(path: String, disputes: Int, hazards: Int, until: LocalDay, time: TownshipTime) throws
        -> String
    {
        let database = try DatabaseQueue(path: path)
        var random = SystemRandomNumberGenerator()
        let end = time.unixMilliseconds(until, minute: 0)
        let start = end - 365 * 86_400_000
        let hour: Int64 = 3_600_000
        var followUps = 0
        var escalations = 0
        try database.write { db in
            let dispute = try db.makeStatement(
                sql: """
                    INSERT INTO disputes (id, accepted_ms, state, category, grade, channel, village, village_group, place,
                        recurrence_of, resolved_ms, referred_ms, closed_ms, drill, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?, '', '', ?, ?, ?, ?, 0, x'')
                    """
            )
            let followUp = try db.makeStatement(
                sql: "INSERT INTO follow_ups (id, dispute_id, due_ms, done_ms) VALUES (?, ?, ?, ?)"
            )
            for index in 0..<disputes {
                let accepted = Int64.random(in: start..<end, using: &random)
                let outcome = Int.random(in: 0..<10, using: &random)
                let resolved: Int64? =
                    outcome < 7 ? accepted + Int64.random(in: 1...40, using: &random) * 86_400_000 : nil
                let referred: Int64? = outcome == 7 ? accepted + 20 * 86_400_000 : nil
                let id = "B\(index)"
                try dispute.execute(arguments: [
                    id, accepted, resolved != nil ? 5 : referred != nil ? 8 : 6, Int.random(in: 1...5, using: &random),
                    Int.random(in: 1...5, using: &random), Int.random(in: 1...4, using: &random),
                    "5116811042\(String(format: "%02d", index % 20 + 1))",
                    index % 25 == 0 ? "B\(max(0, index - 1))" : nil,
                    resolved, referred, resolved.map { $0 + 86_400_000 },
                ])
                if resolved == nil && referred == nil {
                    for visit in 1...3 {
                        let due = accepted + Int64(visit) * 14 * 86_400_000
                        let done: Int64? =
                            Bool.random(using: &random)
                            ? due + Int64.random(in: -2...2, using: &random) * 86_400_000 : nil
                        try followUp.execute(arguments: ["\(id)-F\(visit)", id, due, done])
                        followUps += 1
                    }
                }
            }
            let hazard = try db.makeStatement(
                sql: """
                    INSERT INTO hazards (id, reporter_key, kind, grade, state, department, village, reported_ms, closed_ms,
                        due_ms, step, escalated_step, drill, body)
                    VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, NULL, 5, 5, 0, x'')
                    """
            )
            let escalation = try db.makeStatement(
                sql: "INSERT INTO hazard_escalations (hazard_id, step, at_ms) VALUES (?, ?, ?)"
            )
            let departments = ["traffic", "safety", "safety", "safety", "station", "governance", "governance"]
            for index in 0..<hazards {
                let kind = Int.random(in: 1...7, using: &random)
                let reported = Int64.random(in: start..<end, using: &random)
                let closed: Int64? =
                    Int.random(in: 0..<10, using: &random) < 9
                    ? reported + Int64.random(in: 1...240, using: &random) * hour : nil
                let id = "BH\(index)"
                try hazard.execute(arguments: [
                    id, kind, Int.random(in: 1...4, using: &random), closed == nil ? 3 : 5, departments[kind - 1],
                    "5116811042\(String(format: "%02d", index % 20 + 1))", reported, closed,
                ])
                if index % 10 == 0 {
                    try escalation.execute(arguments: [id, 1, reported + 30 * hour])
                    escalations += 1
                }
            }
        }
        try database.close()
        return "\(disputes) disputes with \(followUps) follow-ups, \(hazards) hazards with \(escalations) escalations"
    }
}
