import Foundation
import SanlianCompose
import Testing
import TownshipLauncher

@Suite("What sanlian up starts, and in which order")
struct LaunchPlanTests {
    static let defaultCompose: String = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("compose/township.yaml").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    static func services(_ section: String) -> String {
        let start = defaultCompose.range(of: "\nservices:")!.lowerBound
        return String(defaultCompose[..<start]) + "\nservices:\n" + section
    }

    @Test("the default township: the broker, then each service after those it calls")
    func defaultOrder() throws {
        let compose = try ComposeFile.parse(Self.defaultCompose)
        let plan = LaunchPlan(
            compose: compose,
            composePath: "/t/township.yaml",
            stateDirectory: "/t/var",
            binDirectory: "/b"
        )
        #expect(
            plan.processes.map(\.name) == [
                "sanlian-broker", "sanlian-residents", "sanlian-hazards", "sanlian-patrol", "sanlian-station",
            ]
        )
        #expect(plan.processes[0].department == nil && plan.processes[1].department == "station")
        #expect(plan.processes[3].executable == "/b/sanlian-patrol")
        #expect(
            plan.processes[2].arguments == [
                "--compose", "/t/township.yaml", "--state-dir", "/t/var", "--exit-when-stdin-closes",
            ]
        )
        #expect(plan.brokerSocket == "/t/var/run/broker.sock")
        #expect(plan.logDirectory == "/t/var/log" && plan.dataDirectory == "/t/var/data")
    }

    @Test("services that wait for each other are refused, naming them")
    func cycleRefused() {
        let text = Self.services(
            """
              sanlian-a: {department: station, after: [sanlian-b]}
              sanlian-b: {department: station, after: [sanlian-a]}
              sanlian-c: {department: station}
            """
        )
        #expect {
            try ComposeFile.parse(text)
        } throws: { error in
            "\(error)".contains("sanlian-a → sanlian-b wait for each other")
        }
    }

    @Test("after: naming no service is refused, naming the key")
    func unknownAfterRefused() {
        let text = Self.services("  sanlian-a: {department: station, after: [sanlian-x]}\n")
        #expect {
            try ComposeFile.parse(text)
        } throws: { error in
            "\(error)".contains("services.sanlian-a.after: sanlian-x is not a service of this file")
        }
    }

    @Test("the run state survives its file")
    func runStateRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rs-\(UUID().uuidString.prefix(8))"
        )
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("run"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        var state = RunState(
            launcherPID: getpid(),
            composePath: "/t/township.yaml",
            startedUnixMs: 1,
            ready: true,
            stopping: false,
            processes: [RunState.ProcessState(name: "sanlian-broker")]
        )
        state.processes[0].restarts = 2
        state.processes[0].lastExit = "killed by signal 9"
        try state.write(stateDirectory: directory.path)
        let read = try RunState.read(stateDirectory: directory.path)
        #expect(read == state)
        #expect(read?.launcherIsAlive == true)
        #expect(try RunState.read(stateDirectory: directory.path + "/nothing") == nil)
    }
}

@Suite("sanlian logs: lines merged by time, read as they grow")
struct LogReaderTests {
    @Test("lines of several logs in timestamp order; a continuation line stays after its line")
    func merged() {
        let merged = LogReader.merged([
            ("a", ["2026-12-06T08:00:02+0800 info a: two", "  continued", "2026-12-06T08:00:04+0800 info a: four"]),
            ("b", ["2026-12-06T08:00:01+0800 info b: one", "2026-12-06T08:00:03+0800 info b: three"]),
        ])
        #expect(
            merged.map { "\($0.name) \($0.text)" } == [
                "b 2026-12-06T08:00:01+0800 info b: one", "a 2026-12-06T08:00:02+0800 info a: two", "a   continued",
                "b 2026-12-06T08:00:03+0800 info b: three", "a 2026-12-06T08:00:04+0800 info a: four",
            ]
        )
    }

    @Test("whole lines only, from where it left off; a truncated file is read from its start")
    func growing() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lr-\(UUID().uuidString.prefix(8)).log"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "one\ntw".write(toFile: path, atomically: false, encoding: .utf8)
        var reader = LogReader(name: "x", path: path)
        #expect(reader.newLines() == ["one"])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("o\nthree\n".utf8))
        try handle.close()
        #expect(reader.newLines() == ["two", "three"])
        #expect(reader.newLines() == [])
        try "new\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(reader.newLines() == ["new"])
    }
}

@Suite("sanlian units: systemd units from the compose file")
struct SystemdUnitsTests {
    @Test("one unit per process, each as its department's user, after the broker and what it calls; a target for all")
    func units() throws {
        var compose = try ComposeFile.parse(LaunchPlanTests.defaultCompose)
        compose.departments["traffic"]?.uid = 1201
        let plan = LaunchPlan(
            compose: compose,
            composePath: "/etc/sanlian/township.yaml",
            stateDirectory: "/var/lib/sanlian",
            binDirectory: "/usr/local/bin"
        )
        let units = Dictionary(
            uniqueKeysWithValues: SystemdUnits.units(plan: plan, compose: compose).map { ($0.name, $0.text) }
        )
        #expect(
            units.keys.sorted() == [
                "sanlian-broker.service", "sanlian-hazards.service", "sanlian-patrol.service",
                "sanlian-residents.service",
                "sanlian-station.service", "sanlian.target",
            ]
        )
        let hazards = try #require(units["sanlian-hazards.service"])
        #expect(hazards.contains("User=1201\n"), "the uid the compose file binds to traffic")
        #expect(hazards.contains("After=sanlian-broker.service sanlian-residents.service\n"))
        #expect(hazards.contains("Requires=sanlian-broker.service\n"))
        #expect(
            hazards.contains(
                "ExecStart=/usr/local/bin/sanlian-hazards --compose /etc/sanlian/township.yaml --state-dir /var/lib/sanlian\n"
            )
        )
        #expect(!hazards.contains("--exit-when-stdin-closes"), "systemd holds no pipe to it")
        #expect(try #require(units["sanlian-patrol.service"]).contains("User=sanlian-governance\n"))
        let broker = try #require(units["sanlian-broker.service"])
        #expect(broker.contains("User=sanlian-station\n") && !broker.contains("After="))
        #expect(
            try #require(units["sanlian.target"]).contains("Wants=sanlian-broker.service sanlian-residents.service")
        )
    }
}
