import CSanlianSystem
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import ServiceSupport

@Suite("Releasing start-up code", .timeLimit(.minutes(1)))
struct StartupCodeReleaseTests {
    @Test("the process's read-only image pages stop counting as its memory, and the process runs on")
    func releasesReadOnlyPages() throws {
        let before = try Self.residentFileKiB()
        let released = CSanlianSystem_releaseReadOnlyImagePages()
        let after = try Self.residentFileKiB()
        #expect(released > 0, "madvise refused: errno \(-released)")
        // Threads of other tests map some pages back at once; most stay out.
        #expect(after < before, "RssFile \(before) KiB before, \(after) KiB after")
        // Code, constants and relocated data (witness tables, RELRO) still work: a dictionary of
        // existentials goes through all three.
        let values: [String: any CustomStringConvertible] = ["one": 1, "two": 2.5, "three": "3"]
        #expect(values.keys.sorted() == ["one", "three", "two"])
        #expect(values.values.map(\.description).sorted() == ["1", "2.5", "3"])
    }

    @Test("a daemon shut down before it is ready does not wait for readiness that never comes")
    func shutdownBeforeReadiness() async throws {
        let release = StartupCodeRelease(
            after: { try await Task.sleep(for: .seconds(3600)) },
            logger: Logger(label: "test")
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [release.groupEntry], logger: Logger(label: "test"))
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            // The group's run returning at all is the assertion; the time limit catches a hang.
            try await tasks.waitForAll()
        }
    }

    /// RssFile from /proc/self/status.
    private static func residentFileKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }
}
