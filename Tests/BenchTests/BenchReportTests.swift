import BenchSupport
import Testing

/// What `make bench` concludes from its figures: the medians of the interleaved rounds, the
/// ratios Sanlian / floor judged against issue #5's limits, and whether the machine was quiet.
@Suite("The benchmark's report", .timeLimit(.minutes(1)))
struct BenchReportTests {
    /// Three rounds of each side, 64-byte calls, with the figures the targets read.
    static func results(floorP50: [Double], sanlianP50: [Double]) -> BenchResults {
        var results = BenchResults(machine: "test machine", date: "2026-11-29T00:00:00Z")
        results.floorRounds[64] = floorP50.map { ["p50_us": $0, "calls_per_second": 400_000] }
        results.sanlianRounds[64] = sanlianP50.map { ["p50_us": $0, "calls_per_second": 120_000] }
        results.publishDeep = ["alerts_per_second": 50_000]
        results.brokerPeakRSSKiB = 20 * 1024
        return results
    }

    static func target(_ results: BenchResults, _ prefix: String) throws -> BenchResults.Target {
        try #require(results.targets.first { $0.name.hasPrefix(prefix) })
    }

    @Test("each figure's median is taken over the rounds that have it, the middle two averaged when they are even")
    func medians() {
        let medians = BenchResults.medians([["p50_us": 90, "cpu": 1], ["p50_us": 30], ["p50_us": 60, "cpu": 4]])
        #expect(medians == ["p50_us": 60, "cpu": 2.5])
    }

    @Test("the p50 target is the ratio of the two sides' medians, not of any one round")
    func p50Ratio() throws {
        // Round by round the ratios are 3.0, 0.5 and 2.0; the medians' ratio is 60 / 40.
        let met = Self.results(floorP50: [20, 120, 40], sanlianP50: [60, 60, 80])
        #expect(try Self.target(met, "sequential p50").value == 1.5)
        #expect(try Self.target(met, "sequential p50").met)
        let missed = Self.results(floorP50: [20, 120, 40], sanlianP50: [61, 61, 80])
        #expect(try !Self.target(missed, "sequential p50").met)
    }

    @Test("throughput, publishing and memory are judged at their limits, which count as met")
    func limits() throws {
        var results = Self.results(floorP50: [10], sanlianP50: [10])
        #expect(try Self.target(results, "throughput").value == 0.3)
        #expect(try Self.target(results, "throughput").met)
        #expect(try Self.target(results, "durable alerts").met)
        #expect(try Self.target(results, "broker peak RSS").met)
        results.publishDeep = ["alerts_per_second": 49_999]
        results.brokerPeakRSSKiB = 20 * 1024 + 1
        #expect(try !Self.target(results, "durable alerts").met)
        #expect(try !Self.target(results, "broker peak RSS").met)
        #expect(results.report().contains("NOT met broker peak RSS"))
    }

    @Test(
        "the SwiftNIO floor gets its own rows and ratios when measured, and the targets stay judged against the C floor"
    )
    func nioFloor() throws {
        var results = Self.results(floorP50: [40], sanlianP50: [80])
        #expect(!results.report().contains("SwiftNIO"))
        #expect((try? results.json())?.contains("\"floor_swiftnio_relay\" : {\n    \"64B\"") == false)
        results.nioRounds[64] = [["p50_us": 50, "calls_per_second": 300_000]]
        let report = results.report()
        #expect(report.contains("SwiftNIO relay floor, 64 B"))
        #expect(report.contains("ratio SwiftNIO floor / C floor  1.25×"))
        #expect(report.contains("ratio Sanlian / SwiftNIO floor  1.60×"))
        #expect(report.contains("SwiftNIO floor 50.0"))
        // Against the C floor alone: 80 / 40, not 80 / 50.
        #expect(try Self.target(results, "sequential p50").value == 2)
        #expect(try Self.target(results, "throughput").value == 0.3)
        #expect((try? results.json())?.contains("\"floor_swiftnio_relay\" : {\n    \"64B\"") == true)
    }

    @Test("a machine busy before the run marks the report NOT QUIET; a quiet one says how quiet")
    func quiet() {
        var results = Self.results(floorP50: [10], sanlianP50: [10])
        #expect(!results.report().contains("CPU time before the run"))
        results.busyBeforeRun = 0.02
        #expect(results.report().contains("other processes used 2 % of the CPU time before the run"))
        #expect(!results.report().contains("NOT QUIET"))
        results.busyBeforeRun = 0.5
        #expect(results.report().contains("NOT QUIET: other processes used 50 % of the CPU time"))
        #expect((try? results.json())?.contains("\"cpu_busy_share_before_run\" : 0.5") == true)
    }

    @Test(
        "busy time from /proc/stat counts user, nice, system, irq and softirq; idle and iowait are idle; steal is left out"
    )
    func procStat() throws {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let stat = "cpu  100 5 50 800 40 3 2 70 0 0\ncpu0 50 2 25 400 20 1 1 35 0 0\nintr 12345\n"
        let times = try #require(Machine.cpuTimes(stat: stat))
        #expect(times.busy == 160)
        #expect(times.total == 1000)
        #expect(Machine.cpuTimes(stat: "cpu0 1 2 3 4 5 6 7\n") == nil)
        #expect(Machine.cpuTimes(stat: "cpu  1 2 3\n") == nil)
        #expect(Machine.cpuTimes(stat: "") == nil)
    }
}
