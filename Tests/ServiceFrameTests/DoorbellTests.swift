import ServiceFrame
import Testing

@Suite("The outbox relay's doorbell")
struct DoorbellTests {
    @Test("a wait that timed out leaves the next wait waiting, not returning at once")
    func waitsAgainAfterATimeout() async {
        let bell = Doorbell()
        #expect(await bell.wait(timeout: .milliseconds(5)) == .timedOut)
        // An AsyncStream iterated afresh each time would answer every wait from here on at once,
        // as if rung; the relay then spun at full speed.
        #expect(await bell.wait(timeout: .milliseconds(5)) == .timedOut)
        #expect(await bell.wait(timeout: .milliseconds(5)) == .timedOut)
    }

    @Test("a ring while nobody waits is kept for the next wait, once")
    func ringIsKept() async {
        let bell = Doorbell()
        bell.ring()
        bell.ring()
        #expect(await bell.wait(timeout: .seconds(30)) == .rung)
        #expect(await bell.wait(timeout: .milliseconds(5)) == .timedOut)
    }

    @Test("a ring wakes a waiting waiter, also after timeouts")
    func ringWakesTheWaiter() async {
        let bell = Doorbell()
        #expect(await bell.wait(timeout: .milliseconds(5)) == .timedOut)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { #expect(await bell.wait(timeout: .seconds(30)) == .rung) }
            // Rung until the waiter has taken it: whether the ring comes before or during its wait,
            // it is answered .rung, well before its 30 s.
            group.addTask {
                for _ in 0..<3 {
                    bell.ring()
                    await Task.yield()
                }
            }
        }
    }

    @Test("a cancelled wait returns")
    func cancelledWaitReturns() async {
        let bell = Doorbell()
        let task = Task { await bell.wait(timeout: .seconds(30)) }
        task.cancel()
        #expect(await task.value == .timedOut)
        bell.ring()
        #expect(await bell.wait(timeout: .seconds(30)) == .rung)
    }
}
