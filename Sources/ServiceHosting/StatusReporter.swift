package import Logging
package import SanlianContracts
package import SanlianRPC
package import SanlianWire
import ServiceLifecycle

/// Tells the broker how the service is doing, every few seconds: what `status` gives (its
/// outbox's backlog and the age of its oldest entry), which `sanlian status` and health show.
package struct StatusReporter: Service {
    let caller: any RPCCaller
    let interval: Duration
    let status: @Sendable () async -> [CommonV1.KeyValue]
    let logger: Logger

    package init(
        caller: any RPCCaller,
        interval: Duration = .seconds(5),
        logger: Logger,
        status: @escaping @Sendable () async -> [CommonV1.KeyValue]
    ) {
        self.caller = caller
        self.interval = interval
        self.logger = logger
        self.status = status
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await caller.unary(
                        BrokerV1.Broker.reportStatus,
                        BrokerV1.ReportStatusRequest(detail: await status()),
                        options: CallOptions(timeout: .seconds(5))
                    )
                } catch {
                    // Not registered yet, or the broker is away: the next round tries again.
                    logger.debug("Status not reported", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
