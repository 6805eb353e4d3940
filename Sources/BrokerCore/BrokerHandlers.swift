package import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Foundation
import Logging
package import SanlianRPC
import SanlianWire
import Synchronization

extension LedgerError: RPCErrorConvertible {
    package var rpcErrorCode: StatusCode {
        switch kind {
        case .invalid: .invalidArgument
        case .notFound: .notFound
        case .failedPrecondition: .failedPrecondition
        case .storage: .unavailable
        }
    }

    package var rpcErrorMessage: String { description }
}

/// The broker's own services: `sanlian.broker.v1.Broker` and `sanlian.health.v1.Health`.
struct BrokerHandlers: Sendable {
    let policy: AccessPolicy
    let routes: RouteTable
    let topics: SubscriptionTable
    let ledger: AlertLedger
    let subscriptions: LedgerSubscriptions
    let delivery: DeliverySettings
    let clock: any LedgerClock
    let knownServices: Set<String>
    let logger: Logger

    static let localServices: Set<String> = [BrokerV1.Broker.name, HealthV1.Health.name]

    func register(on router: inout RPCRouter) {
        router.register(BrokerV1.Broker.registerServices) { request, context in
            try registerServices(request, context)
        }
        router.register(BrokerV1.Broker.publish) { request, context in
            try publish(request, context)
        }
        router.register(BrokerV1.Broker.subscribe) { request, writer, context in
            try await subscribe(request, writer, context)
        }
        // Immediate: validated on the event loop and answered from the ledger's commit, with no
        // task per alert (the publishing hot path).
        router.register(BrokerV1.Broker.publishAlert) { request, context, respond in
            publishAlert(request, context, respond: respond)
        }
        router.register(BrokerV1.Broker.subscribeLedger) { request, writer, context in
            try await subscribeLedger(request, writer, context)
        }
        router.register(BrokerV1.Broker.ackLedger) { request, context in
            let through = try await subscriptions.acknowledge(
                department: context.peer.department,
                name: request.name,
                sequences: request.sequences
            )
            return BrokerV1.AckLedgerResponse(acknowledgedThrough: through)
        }
        router.register(BrokerV1.Broker.readLedger) { request, context in
            try await readLedger(request, context)
        }
        router.register(BrokerV1.Broker.acknowledgeAggregate) { request, context in
            let aggregate = try await ledger.acknowledge(
                fingerprint: request.fingerprint,
                by: actor(context),
                note: request.note
            )
            return BrokerV1.AggregateActionResponse(aggregate: aggregate)
        }
        router.register(BrokerV1.Broker.resolveAggregate) { request, context in
            let aggregate = try await ledger.resolve(
                fingerprint: request.fingerprint,
                by: actor(context),
                note: request.note
            )
            return BrokerV1.AggregateActionResponse(aggregate: aggregate)
        }
        router.register(BrokerV1.Broker.listAggregates) { request, _ in
            let limit = Int(request.page?.pageSize ?? 0)
            let aggregates = try await ledger.aggregates(
                states: request.states,
                limit: limit == 0 ? 500 : min(limit, 5000)
            )
            return BrokerV1.ListAggregatesResponse(aggregates: aggregates)
        }
        router.register(BrokerV1.Broker.listDeadLetters) { request, context in
            let records = try await ledger.deadLetters(
                department: context.peer.department,
                name: request.subscription.isEmpty ? nil : request.subscription
            )
            return BrokerV1.ListDeadLettersResponse(
                deadLetters: records.map {
                    BrokerV1.DeadLetter(
                        subscription: $0.subscription,
                        department: $0.department,
                        sequence: $0.sequence,
                        attempts: $0.attempts,
                        deadUnixMs: $0.deadUnixMs
                    )
                }
            )
        }
        router.register(BrokerV1.Broker.redriveDeadLetters) { request, context in
            guard !request.subscription.isEmpty else {
                throw RPCError(.invalidArgument, "subscription: must name the subscription to redrive")
            }
            let redriven = try await ledger.redrive(
                department: context.peer.department,
                name: request.subscription,
                sequences: request.sequences
            )
            subscriptions.wake(department: context.peer.department, name: request.subscription)
            return BrokerV1.RedriveDeadLettersResponse(redriven: UInt32(redriven.count))
        }
        router.register(BrokerV1.Broker.listServices) { _, _ in
            let local = [BrokerV1.Broker.name: BrokerV1.Broker.methods, HealthV1.Health.name: HealthV1.Health.methods]
                .sorted { $0.key < $1.key }
                .map { name, methods in
                    BrokerV1.ServiceStatus(
                        service: BrokerV1.ServiceDescriptor(name: name, methods: methods.map(Self.describe)),
                        instances: 1,
                        instanceNames: ["sanlian-broker"]
                    )
                }
            return BrokerV1.ListServicesResponse(services: local + routes.services())
        }
        router.register(HealthV1.Health.check) { request, _ in
            try HealthV1.HealthCheckResponse(status: health(of: request.service, unknownThrows: true))
        }
        router.register(HealthV1.Health.watch) { request, writer, _ in
            try await watchHealth(request, writer)
        }
    }

    static func describe(_ method: WireMethodDescription) -> BrokerV1.MethodDescriptor {
        BrokerV1.MethodDescriptor(
            name: method.method,
            serverStreaming: method.kind.serverStreams,
            clientStreaming: method.kind.clientStreams
        )
    }

    private func actor(_ context: ServerContext) -> String {
        context.peer.operatorID.isEmpty
            ? context.peer.department : "\(context.peer.department)/\(context.peer.operatorID)"
    }

    // MARK: Registration and health

    private func registerServices(_ request: BrokerV1.RegisterRequest, _ context: ServerContext) throws
        -> BrokerV1.RegisterResponse
    {
        let department = context.peer.department
        guard !request.services.isEmpty else { throw RPCError(.invalidArgument, "services: name at least one service") }
        for (index, service) in request.services.enumerated() {
            guard !service.name.isEmpty, !service.name.contains("/") else {
                throw RPCError(.invalidArgument, "services[\(index)].name: \"\(service.name)\" is not a service name")
            }
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
            connection: context.connection,
            name: name,
            department: department,
            services: request.services
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

    private func health(of service: String, unknownThrows: Bool) throws -> HealthV1.ServingStatus {
        if service.isEmpty || Self.localServices.contains(service) { return .serving }
        if routes.instanceCount(service: service) > 0 { return .serving }
        if knownServices.contains(service) { return .notServing }
        if unknownThrows { throw RPCError(.notFound, "unknown service \(service)") }
        return .serviceUnknown
    }

    private func watchHealth(
        _ request: HealthV1.HealthCheckRequest,
        _ writer: ResponseStreamWriter<HealthV1.HealthCheckResponse>
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

    // MARK: Publish/subscribe

    private func publish(_ request: BrokerV1.PublishRequest, _ context: ServerContext) throws
        -> BrokerV1.PublishResponse
    {
        let department = context.peer.department
        do {
            try Subject.validate(request.subject)
        } catch {
            throw RPCError(.invalidArgument, "subject: \(error.description)")
        }
        guard policy.mayPublish(department: department, subject: request.subject) else {
            throw RPCError(.permissionDenied, "department \(department) may not publish on \(request.subject)")
        }
        let delivered = topics.publish(
            BrokerV1.Delivery(
                subject: request.subject,
                payload: request.payload,
                headers: request.headers,
                publisherDepartment: department
            )
        )
        return BrokerV1.PublishResponse(deliveredTo: UInt32(delivered))
    }

    private func subscribe(
        _ request: BrokerV1.SubscribeRequest,
        _ writer: ResponseStreamWriter<BrokerV1.Delivery>,
        _ context: ServerContext
    ) async throws {
        let pattern = try readablePattern(request.subjectPattern, context)
        let subscription = topics.subscribe(pattern: pattern, department: context.peer.department)
        defer { subscription.cancel() }
        do {
            for try await delivery in subscription.deliveries {
                try await writer.send(delivery)
                subscription.consumed()
            }
        } catch let error as SubscriptionTable.SlowConsumer {
            throw RPCError(.resourceExhausted, error.description)
        }
    }

    private func readablePattern(_ text: String, _ context: ServerContext) throws -> SubjectPattern {
        let pattern: SubjectPattern
        do {
            pattern = text.isEmpty ? .all : try SubjectPattern(text)
        } catch {
            throw RPCError(.invalidArgument, "subject_pattern: \(error.description)")
        }
        guard policy.maySubscribe(department: context.peer.department, pattern: pattern) else {
            throw RPCError(.permissionDenied, "department \(context.peer.department) may not read \(pattern)")
        }
        return pattern
    }

    // MARK: The alert ledger

    private func publishAlert(
        _ request: BrokerV1.PublishAlertRequest,
        _ context: ServerContext,
        respond: ImmediateResponder<BrokerV1.PublishAlertResponse>
    ) {
        let department = context.peer.department
        let alert: AlertV1.Alert
        do {
            alert = try AlertValidation.validated(
                request.alert,
                department: department,
                operatorID: context.peer.operatorID,
                now: clock.nowMilliseconds()
            )
        } catch {
            respond(.failure(error))
            return
        }
        guard policy.mayPublish(department: department, subject: alert.subject) else {
            respond(
                .failure(
                    RPCError(.permissionDenied, "department \(department) may not publish alerts on \(alert.subject)")
                )
            )
            return
        }
        ledger.publish(alert) { result in
            respond(
                result.map { BrokerV1.PublishAlertResponse(sequence: $0.sequence, duplicate: $0.duplicate) }
                    .mapError { $0 as any Error }
            )
        }
    }

    /// 1–64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit. Checked by
    /// hand: a Foundation regular expression compiled ICU's regex engine into the serving broker's
    /// memory at the first subscription (docs/PERFORMANCE.md, "Sixth round").
    static func isValidSubscriptionName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...64).contains(bytes.count), let first = bytes.first, isASCIIAlphanumeric(first) else { return false }
        return bytes.allSatisfy {
            isASCIIAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    private func subscribeLedger(
        _ request: BrokerV1.SubscribeLedgerRequest,
        _ writer: ResponseStreamWriter<BrokerV1.LedgerDelivery>,
        _ context: ServerContext
    ) async throws {
        let department = context.peer.department
        guard Self.isValidSubscriptionName(request.name) else {
            throw RPCError(.invalidArgument, "name: \"\(request.name)\" must be 1-64 letters, digits, '.', '_' or '-'")
        }
        let pattern = try readablePattern(request.subjectPattern, context)
        let start: SubscriptionStart
        switch request.start?.position {
        case .fromSequence(let sequence)?: start = .sequence(sequence)
        case .fromUnixMs(let unixMs)?: start = .time(unixMs: unixMs)
        case .resume?, nil: start = .resume
        }
        var settings = delivery
        if request.maxInFlight > 0 { settings.maxInFlight = Int(min(request.maxInFlight, 4096)) }
        if request.ackTimeoutSeconds > 0 { settings.ackTimeout = .seconds(Int64(min(request.ackTimeoutSeconds, 3600))) }
        if request.maxDeliveries > 0 { settings.maxDeliveries = min(request.maxDeliveries, 100) }
        let readable = policy.readPermission(of: department)
        try await subscriptions.run(
            department: department,
            name: request.name,
            pattern: pattern.description,
            start: start,
            settings: settings,
            include: { subject in pattern.matches(subject) && readable.allows(subject) },
            send: { delivery in try await writer.send(encoded: delivery) }
        )
    }

    private func readLedger(_ request: BrokerV1.ReadLedgerRequest, _ context: ServerContext) async throws
        -> BrokerV1.ReadLedgerResponse
    {
        let pattern = try readablePattern(request.subjectPattern, context)
        let department = context.peer.department
        let readable = policy.readPermission(of: department)
        let limit = request.limit == 0 ? 100 : Int(min(request.limit, 1000))
        let events = try await ledger.read(
            after: request.fromSequence > 0 ? request.fromSequence - 1 : 0,
            limit: limit,
            include: { pattern.matches($0) && readable.allows($0) }
        )
        return BrokerV1.ReadLedgerResponse(events: events, lastSequence: ledger.lastSequence)
    }
}
