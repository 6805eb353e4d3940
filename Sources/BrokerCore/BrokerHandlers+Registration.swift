import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Logging
import SanlianClock
import SanlianRPC
import SanlianWire

/// Services registering with the broker, and health.
extension BrokerHandlers {
    func registerServices(
        _ request: BrokerV1.RegisterRequest,
        _ context: ServerContext,
        _ connection: RPCConnection
    ) throws -> BrokerV1.RegisterResponse {
        let department = context.peer.department
        try RequestRules.checkRegistration(request)
        for (index, service) in request.services.enumerated() {
            guard !Self.localServices.contains(service.name) else {
                throw RPCError(.permissionDenied, "services[\(index)].name: \(service.name) belongs to the broker")
            }
            guard policy.mayServe(department: department, service: service.name) else {
                logger.info(
                    "Registration refused",
                    metadata: ["rpc.department": "\(department)", "broker.service": "\(service.name)"]
                )
                throw RPCError(.permissionDenied, "department \(department) may not serve \(service.name)")
            }
        }
        let name = request.instance.isEmpty ? "\(department)#\(context.peer.connectionID)" : request.instance
        let id = routes.register(
            connection: connection,
            name: name,
            department: department,
            services: request.services,
            at: clock.nowMilliseconds()
        )
        logger.info(
            "Services registered",
            metadata: [
                "rpc.department": "\(department)", "broker.instance": "\(name)",
                "broker.services": "\(request.services.map(\.name).joined(separator: ","))",
            ]
        )
        return BrokerV1.RegisterResponse(instanceID: id)
    }

    func checkHealth(_ request: HealthV1.HealthCheckRequest, _ context: ServerContext) throws
        -> HealthV1.HealthCheckResponse
    {
        let detail = routes.instances(of: request.service).flatMap { instance in
            instance.status.detail.map { CommonV1.KeyValue(key: "\(instance.name): \($0.key)", value: $0.value) }
        }
        return HealthV1.HealthCheckResponse(
            status: try health(of: request.service, unknownThrows: true),
            detail: detail
        )
    }

    /// Keeps a registered instance's report of how it is doing.
    func reportStatus(
        _ request: BrokerV1.ReportStatusRequest,
        _ context: ServerContext,
        _ connection: RPCConnection
    ) throws -> BrokerV1.ReportStatusResponse {
        try RequestRules.checkStatusReport(request)
        guard let instance = routes.instance(on: connection) else {
            throw RPCError(.failedPrecondition, "report: this connection has registered no service")
        }
        instance.record(request.detail, at: clock.nowMilliseconds())
        return BrokerV1.ReportStatusResponse()
    }

    func health(of service: String, unknownThrows: Bool) throws -> HealthV1.ServingStatus {
        if service.isEmpty || Self.localServices.contains(service) { return .serving }
        if routes.instanceCount(service: service) > 0 { return .serving }
        // A service some department may serve is one the township has, if not connected now.
        if policy.anyMayServe(service) { return .notServing }
        if unknownThrows { throw RPCError(.notFound, "unknown service \(service)") }
        return .serviceUnknown
    }

    func watchHealth(
        _ request: HealthV1.HealthCheckRequest,
        _ writer: ResponseStreamWriter<HealthV1.HealthCheckResponse>,
        _ context: ServerContext
    ) async throws {
        let doorbell = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let watcher = routes.addWatcher { doorbell.continuation.yield() }
        defer { routes.removeWatcher(watcher) }
        var last: HealthV1.ServingStatus?
        var changes = doorbell.stream.makeAsyncIterator()
        while !Task.isCancelled {
            let status = try health(of: request.service, unknownThrows: false)
            if status != last {
                try await writer.send(HealthV1.HealthCheckResponse(status: status))
                last = status
            }
            guard await changes.next() != nil else { return }
        }
    }
}
