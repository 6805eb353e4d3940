import BenchSupport
import Foundation
import IdentityNumbers
import ResidentsContract
import SanlianWire

extension SanlianBench {
    /// sanlian-residents: 100,000 people with their households and workplaces imported through the
    /// CLI and the broker, then lookups by ID number and searches by name through the broker.
    func measureResidents(into results: inout BenchResults, state: String, station: [String]) throws {
        let brokerSocket = state + "/run/broker.sock"
        let residents = try Background(
            binDir + "/sanlian-residents",
            ["--compose", compose, "--state-dir", state, "--log-level", "warning"]
        )
        defer { residents.stop() }
        func cli(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binDir + "/sanlian")
            process.arguments = ["residents"] + arguments + ["--dir", state, "--timeout", "300"]
            let (_, message) = try runToCompletion(process, within: 600, named: "sanlian residents \(arguments[0])")
            guard process.terminationStatus == 0 else {
                throw BenchError(
                    "sanlian residents \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))"
                )
            }
        }
        try waitUntil("sanlian-residents to register", timeout: 20) { (try? cli(["search", "nobody"])) != nil }

        let files = try ResidentsFiles.write(directory: state, people: 100_000)
        progress("sanlian-residents: importing \(files.summary) through the CLI")
        let started = ContinuousClock.now
        try cli([
            "import", "--people", files.people, "--households", files.households, "--workplaces", files.workplaces,
        ])
        let elapsed = ContinuousClock.now - started
        results.residentsImportSeconds =
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        results.residentsImportSummary = files.summary

        let lookups = state + "/bench-lookups.bin"
        try Self.payloads(files.sample.map { ResidentsV1.GetPersonRequest(idNumber: $0.idNumber) })
            .write(to: URL(fileURLWithPath: lookups))
        progress("sanlian-residents: 1000 lookups by ID number, then 5000 with 16 in flight")
        results.residentsLookups = try runClient(
            ["unary", brokerSocket, "/sanlian.residents.v1.Population/GetPerson", lookups, "1000", "5000", "16"]
                + station
        )
        let searches = state + "/bench-searches.bin"
        try Self.payloads(
            files.sample.map {
                ResidentsV1.SearchPeopleRequest(name: $0.name, page: CommonV1.PageRequest(pageSize: 20))
            }
        ).write(to: URL(fileURLWithPath: searches))
        progress("sanlian-residents: 1000 searches by name, then 5000 with 16 in flight")
        results.residentsSearches = try runClient(
            ["unary", brokerSocket, "/sanlian.residents.v1.Population/SearchPeople", searches, "1000", "5000", "16"]
                + station
        )
        results.residentsPeakRSSKiB = peakRSS(pid: residents.pid)
    }
}

/// The residents benchmark's import files: people with valid ID numbers, in households of up to
/// four, a fifth of them working for one of fifty enterprises (half in its dormitory).
enum ResidentsFiles {
    struct Written {
        var people: String
        var households: String
        var workplaces: String
        var summary: String
        /// Some of the people, for lookups and searches.
        var sample: [(idNumber: String, name: String)]
    }

    static func write(directory: String, people count: Int) throws -> Written {
        let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
        let given = Array("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
        var people = ["id_number,name,phone,residence,village_code,village_group"]
        var households = ["household_id,head_id_number,address,village_code,members"]
        var workplaces = ["id_number,enterprise,dormitory"]
        var sample: [(String, String)] = []
        var members: [String] = []
        var head = ""
        var householdCount = 0
        var workplaceCount = 0
        for index in 0..<count {
            // 511681 + a birth date between 1950 and 2009 + a sequence: unique per index.
            let year = 1950 + index % 60
            let month = 1 + (index / 60) % 12
            let day = 1 + (index / 720) % 28
            let sequence = index / 20_160
            let first17 = String(format: "511681%04d%02d%02d%03d", year, month, day, sequence)
            let id = first17 + String(IdentityNumber.checkDigit(first17.map { Int(String($0))! }))
            let name =
                String(surnames[index % surnames.count]) + String(given[(index / surnames.count) % given.count])
                + String(given[(index / 7) % given.count])
            let village = String(format: "5116811042%02d", index % 20 + 1)
            people.append(
                "\(id),\(name),138\(String(format: "%08d", index)),\(index % 5 == 0 ? "floating" : "registered"),\(village),\(index % 9 + 1)组"
            )
            if index % 4 == 0 {
                if !head.isEmpty {
                    households.append("H\(householdCount),\(head),高兴镇,\(village),\(members.joined(separator: ";"))")
                    householdCount += 1
                }
                head = id
                members = []
            } else {
                members.append("\(id):member")
            }
            if index % 5 == 0 {
                workplaces.append("\(id),E\(String(format: "%03d", index % 50)),\(index % 10 == 0 ? "yes" : "no")")
                workplaceCount += 1
            }
            if index % (count / 100) == 0 { sample.append((id, name)) }
        }
        let paths = (
            directory + "/bench-people.csv", directory + "/bench-households.csv", directory + "/bench-workplaces.csv"
        )
        try people.joined(separator: "\n").write(toFile: paths.0, atomically: true, encoding: .utf8)
        try households.joined(separator: "\n").write(toFile: paths.1, atomically: true, encoding: .utf8)
        try workplaces.joined(separator: "\n").write(toFile: paths.2, atomically: true, encoding: .utf8)
        return Written(
            people: paths.0,
            households: paths.1,
            workplaces: paths.2,
            summary: "\(count) people, \(householdCount) households, \(workplaceCount) workplaces",
            sample: sample
        )
    }
}
