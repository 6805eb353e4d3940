import Foundation
import SanlianCLI
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

@Suite("sanlian watch: resuming, reconnecting, one watcher at a time", .timeLimit(.minutes(1)))
struct WatchTests {
    /// Waits until the station's subscription `name` has acknowledged through `sequence`.
    static func waitForAcknowledged(_ township: Township, _ name: String, through sequence: UInt64) async throws {
        try await township.withClient("station") { client in
            try await eventually("\(name) to acknowledge #\(sequence)") {
                let info = try await client.unary(
                    BrokerV1.Broker.getSubscription,
                    BrokerV1.GetSubscriptionRequest(name: name)
                )
                return info.acknowledgedThrough >= sequence
            }
        }
    }

    @Test("says where it resumes, and goes on by itself across a restart of the broker without a gap or a duplicate")
    func acrossBrokerRestart() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await publish(township, id: "before")
            let first = await sanlian(township, ["watch", "--count", "1"])
            #expect(first.status == 0, "\(first.error)")
            #expect(first.error.contains("new subscription command-room"), "\(first.error)")
        }

        // The watch runs across both brokers' lives, waiting for each (--wait).
        async let watching = sanlian(township, ["watch", "--count", "3", "--wait", "--timeout", "60"])
        _ = try await Harness.withBroker(township) { broker in
            try await publish(township, id: "during-1")
            try await Self.waitForAcknowledged(township, "command-room", through: 2)
            try broker.kill()
        }
        _ = try await Harness.withBroker(township) { _ in
            try await publish(township, id: "after-1")
            try await publish(township, id: "after-2")
            try await Self.waitForAcknowledged(township, "command-room", through: 4)
        }
        let watched = await watching
        #expect(watched.status == 0, "\(watched.error)")
        #expect(watched.error.contains("resuming after #1"), "\(watched.error)")
        #expect(watched.error.contains("lost the broker"), "\(watched.error)")
        let sequences = watched.output.split(separator: "\n").compactMap { $0.split(separator: " ").first }
        #expect(sequences == ["#2", "#3", "#4"], "\(watched.output)")
    }

    @Test(
        "a second watcher under the same name is refused, not silently kicking the first off; --take-over replaces it"
    )
    func oneWatcherAtATime() async throws {
        let township = try Township()
        _ = try await Harness.withBroker(township) { _ in
            try await publish(township, id: "w-1")
            async let firstWatcher = sanlian(township, ["watch", "--name", "duty", "--count", "5"])
            try await Self.waitForAcknowledged(township, "duty", through: 1)
            let second = await sanlian(township, ["watch", "--name", "duty", "--count", "1"])
            #expect(second.status == 1)
            #expect(second.error.contains("already has a watcher"), "\(second.error)")
            #expect(second.error.contains("--take-over"))

            async let taking = sanlian(township, ["watch", "--name", "duty", "--count", "1", "--take-over"])
            let first = await firstWatcher
            #expect(first.status == 1)
            #expect(first.error.contains("took the subscription duty over"), "\(first.error)")
            try await publish(township, id: "w-2")
            let taker = await taking
            #expect(taker.status == 0, "\(taker.error)")
            #expect(taker.output.hasPrefix("#2 "), "\(taker.output)")
        }
    }
}
