import BenchSupport
import Foundation
import SanlianTestHarness
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The floors written in Swift that the benchmarks measure beside the C floor: `nio-floor` (bare
/// SwiftNIO, measured by `make bench`) and `epoll-floor` (epoll without SwiftNIO, measured by
/// `bench/tools/floors.sh`). Real processes, an echo behind a relay, over Unix sockets, started and
/// awaited with the benchmark's own helpers.
@Suite("The Swift floors", .timeLimit(.minutes(1)))
struct SwiftFloorTests {
    static let floors = ["nio-floor", "epoll-floor"]

    /// A connected Unix socket that gives up on reads after five seconds.
    static func connected(to path: String) throws -> Int32 {
        guard let fd = connectUnixSocket(path) else { throw BenchError("cannot connect to \(path)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    @Test("bytes sent to the relay come back from the echo behind it, all of them and in order", arguments: floors)
    func relaysToEchoAndBack(floor: String) throws {
        let binary = try Harness.executable(floor)
        let work = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let echo = try Background(binary, ["echo", work + "/e.sock"])
        defer { echo.stop() }
        try waitForSocket(work + "/e.sock")
        let relay = try Background(binary, ["relay", work + "/r.sock", work + "/e.sock"])
        defer { relay.stop() }
        try waitForSocket(work + "/r.sock")

        let fd = try Self.connected(to: work + "/r.sock")
        defer { close(fd) }
        // More than one read's worth on every hop, so that the relay must carry on across reads.
        let sent = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        var received: [UInt8] = []
        received.reserveCapacity(sent.count)
        var written = 0
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while received.count < sent.count {
            if written < sent.count {
                let count = sent[written...].prefix(16_384).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                try #require(count > 0, "write to the relay failed")
                written += count
            }
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            try #require(got > 0, "the relay stopped answering after \(received.count) bytes")
            received += chunk[..<got]
        }
        #expect(received == sent)
    }

    @Test("a wrong command line is refused with the usage and exit status 2", arguments: floors)
    func usage(floor: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Harness.executable(floor))
        process.arguments = ["relay", "/tmp/only-one-path.sock"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(message.contains("usage: \(floor) relay LISTEN_PATH UPSTREAM_PATH"))
    }
}
