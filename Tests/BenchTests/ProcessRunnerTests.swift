import BenchSupport
import Foundation
import Testing

/// How the benchmark runs its load generator: to completion, or killed at its time limit.
@Suite("The benchmark's process runner", .timeLimit(.minutes(1)))
struct ProcessRunnerTests {
    @Test("a process that finishes in time gives back what it wrote")
    func finishes() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "echo out; echo err >&2"]
        let written = try runToCompletion(process, within: 30, named: "sh")
        #expect(String(decoding: written.output, as: UTF8.self) == "out\n")
        #expect(String(decoding: written.errors, as: UTF8.self) == "err\n")
        #expect(process.terminationStatus == 0)
    }

    @Test("a process still running at its limit is killed, and the error names it")
    func killedAtLimit() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["30"]
        let started = ContinuousClock.now
        #expect {
            try runToCompletion(process, within: 0.3, named: "bench_client echo")
        } throws: { error in
            "\(error)".contains("bench_client echo did not finish within 0.3 s")
        }
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(!process.isRunning)
    }
}
