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
            try RequestRules.checkSequences(request.sequences)
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
            try RequestRules.checkAggregateAction(request)
            let aggregate = try await ledger.acknowledge(
                fingerprint: request.fingerprint,
                by: actor(context),
                note: request.note
            )
            logger.info(
                "Aggregate acknowledged",
                metadata: [
                    "broker.fingerprint": "\(request.fingerprint)", "broker.by": "\(actor(context))",
                    "broker.note": "\(request.note)",
                ]
            )
            return BrokerV1.AggregateActionResponse(aggregate: aggregate)
        }
        router.register(BrokerV1.Broker.resolveAggregate) { request, context in
            try RequestRules.checkAggregateAction(request)
            let aggregate = try await ledger.resolve(
                fingerprint: request.fingerprint,
                by: actor(context),
                note: request.note
            )
            logger.info(
                "Aggregate resolved",
                metadata: [
                    "broker.fingerprint": "\(request.fingerprint)", "broker.by": "\(actor(context))",
                    "broker.note": "\(request.note)",
                ]
            )
            return BrokerV1.AggregateActionResponse(aggregate: aggregate)
        }
        router.register(BrokerV1.Broker.listAggregates) { request, context in
            try await listAggregates(request, context)
        }
        router.register(BrokerV1.Broker.getAggregate) { request, context in
            try await getAggregate(request, context)
        }
        router.register(BrokerV1.Broker.listDeadLetters) { request, context in
            try await listDeadLetters(request, context)
        }
        router.register(BrokerV1.Broker.redriveDeadLetters) { request, context in
            guard !request.subscription.isEmpty else {
                throw RPCError(.invalidArgument, "subscription: must name the subscription to redrive")
            }
            try RequestRules.checkSequences(request.sequences)
            let redriven = try await ledger.redrive(
                department: context.peer.department,
                name: request.subscription,
                sequences: request.sequences
            )
            subscriptions.wake(department: context.peer.department, name: request.subscription)
            return BrokerV1.RedriveDeadLettersResponse(redriven: UInt32(redriven.count))
        }
        router.register(BrokerV1.Broker.listServices) { request, context in
            try listServices(request, context)
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
        try RequestRules.checkPublish(request)
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
                now: clock.nowMilliseconds(),
                mayPublish: { policy.mayPublish(department: department, subject: $0) }
            )
        } catch {
            respond(.failure(error))
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
        let last = ledger.lastSequence
        let from = max(request.fromSequence, 1)
        let scan = try await ledger.scanStored(
            after: from - 1,
            limit: LedgerReading.limit(request.limit),
            include: { pattern.matches($0) && readable.allows($0) }
        )
        var budget = FrameBudget(frameBytes: context.peerMaxFrameBytes)
        var events: [AlertV1.LedgerEvent] = []
        for stored in scan.events {
            guard budget.take(stored.encoded.count) else {
                if events.isEmpty {
                    throw FrameBudget.tooLarge(
                        "event #\(stored.sequence)",
                        bytes: stored.encoded.count,
                        frameBytes: context.peerMaxFrameBytes
                    )
                }
                break
            }
            events.append(try AlertV1.LedgerEvent(serializedBytes: stored.encoded))
        }
        // Cut short, the next read starts after the last event given; otherwise after everything
        // the scan looked at, matching or not.
        let next = budget.isFull ? (events.last?.sequence ?? from - 1) + 1 : max(scan.scannedThrough + 1, from)
        return BrokerV1.ReadLedgerResponse(
            events: events,
            lastSequence: max(last, ledger.lastSequence),
            nextFromSequence: next
        )
    }

    // MARK: Lists

    private func listAggregates(_ request: BrokerV1.ListAggregatesRequest, _ context: ServerContext) async throws
        -> BrokerV1.ListAggregatesResponse
    {
        let after = try AggregatePaging.cursor(request.page?.pageToken ?? "")
        let filter = try AggregatePaging.filter(request)
        let readable = policy.readPermission(of: context.peer.department)
        let include: (@Sendable (String) -> Bool)? =
            readable.allowsEverything ? nil : { @Sendable subject in readable.allows(subject) }
        let size = pageSize(request.page?.pageSize)
        let (stored, total) = try await ledger.aggregatePage(filter, after: after, limit: size + 1, readable: include)
        var budget = FrameBudget(frameBytes: context.peerMaxFrameBytes)
        var aggregates: [AlertV1.Aggregate] = []
        var lastCursor: AggregateCursor?
        for item in stored.prefix(size) {
            guard budget.take(item.encoded.count) else {
                if aggregates.isEmpty {
                    throw FrameBudget.tooLarge(
                        "aggregate \(item.cursor.key)",
                        bytes: item.encoded.count,
                        frameBytes: context.peerMaxFrameBytes
                    )
                }
                break
            }
            aggregates.append(try AlertV1.Aggregate(serializedBytes: item.encoded))
            lastCursor = item.cursor
        }
        let more = aggregates.count < stored.count
        return BrokerV1.ListAggregatesResponse(
            aggregates: aggregates,
            page: CommonV1.PageResponse(
                nextPageToken: more ? lastCursor.map(AggregatePaging.token) ?? "" : "",
                total: UInt32(clamping: total)
            )
        )
    }

    private func getAggregate(_ request: BrokerV1.GetAggregateRequest, _ context: ServerContext) async throws
        -> BrokerV1.GetAggregateResponse
    {
        guard !request.fingerprint.isEmpty else { throw RPCError(.invalidArgument, "fingerprint: must not be empty") }
        let aggregate = try await ledger.aggregate(key: request.fingerprint)
        let readable = policy.readPermission(of: context.peer.department)
        // An aggregate the caller may not read is as good as absent to it.
        guard readable.allows(aggregate.latest?.subject ?? "") else {
            throw RPCError(.notFound, "no aggregate with fingerprint \(request.fingerprint)")
        }
        let limit = pageSize(request.historyLimit, default: 50, maximum: 500)
        let (stored, total) = try await ledger.history(ofAggregate: request.fingerprint, limit: limit)
        var budget = FrameBudget(frameBytes: context.peerMaxFrameBytes)
        _ = budget.take(try aggregate.serializedBytes().count)
        // The most recent events are kept when the frame is full; the oldest go.
        var history: [AlertV1.LedgerEvent] = []
        for item in stored.reversed() {
            guard budget.take(item.encoded.count) else { break }
            history.append(try AlertV1.LedgerEvent(serializedBytes: item.encoded))
        }
        return BrokerV1.GetAggregateResponse(
            aggregate: aggregate,
            history: history.reversed(),
            historyTotal: UInt32(clamping: total)
        )
    }

    private func listDeadLetters(_ request: BrokerV1.ListDeadLettersRequest, _ context: ServerContext) async throws
        -> BrokerV1.ListDeadLettersResponse
    {
        var after: (name: String, sequence: UInt64)?
        if let token = request.page?.pageToken, !token.isEmpty {
            let fields = try PageToken.read(token, "dl1", count: 2)
            guard let sequence = UInt64(fields[1]) else {
                throw RPCError(.invalidArgument, "page.page_token: not a token this list gave")
            }
            after = (fields[0], sequence)
        }
        let size = pageSize(request.page?.pageSize)
        let (records, total) = try await ledger.deadLetters(
            department: context.peer.department,
            name: request.subscription.isEmpty ? nil : request.subscription,
            after: after,
            limit: size + 1
        )
        var budget = FrameBudget(frameBytes: context.peerMaxFrameBytes)
        var letters: [BrokerV1.DeadLetter] = []
        for record in records.prefix(size) {
            let letter = BrokerV1.DeadLetter(
                subscription: record.subscription,
                department: record.department,
                sequence: record.sequence,
                attempts: record.attempts,
                deadUnixMs: record.deadUnixMs
            )
            guard budget.take(try letter.serializedBytes().count) else { break }
            letters.append(letter)
        }
        let more = letters.count < records.count
        return BrokerV1.ListDeadLettersResponse(
            deadLetters: letters,
            page: CommonV1.PageResponse(
                nextPageToken: more
                    ? letters.last.map { PageToken.make("dl1", [$0.subscription, String($0.sequence)]) } ?? "" : "",
                total: UInt32(clamping: total)
            )
        )
    }

    private func listServices(_ request: BrokerV1.ListServicesRequest, _ context: ServerContext) throws
        -> BrokerV1.ListServicesResponse
    {
        let local = [BrokerV1.Broker.name: BrokerV1.Broker.methods, HealthV1.Health.name: HealthV1.Health.methods]
            .map { name, methods in
                BrokerV1.ServiceStatus(
                    service: BrokerV1.ServiceDescriptor(name: name, methods: methods.map(Self.describe)),
                    instances: 1,
                    instanceNames: ["sanlian-broker"]
                )
            }
        let all = (local + routes.services()).sorted { ($0.service?.name ?? "") < ($1.service?.name ?? "") }
        var after = ""
        if let token = request.page?.pageToken, !token.isEmpty {
            after = try PageToken.read(token, "sv1", count: 1)[0]
        }
        let size = pageSize(request.page?.pageSize)
        var budget = FrameBudget(frameBytes: context.peerMaxFrameBytes)
        var services: [BrokerV1.ServiceStatus] = []
        let following = all.filter { after.isEmpty || ($0.service?.name ?? "") > after }
        for status in following.prefix(size) {
            guard budget.take(try status.serializedBytes().count) else { break }
            services.append(status)
        }
        let more = services.count < following.count
        return BrokerV1.ListServicesResponse(
            services: services,
            page: CommonV1.PageResponse(
                nextPageToken: more ? services.last.map { PageToken.make("sv1", [$0.service?.name ?? ""]) } ?? "" : "",
                total: UInt32(clamping: all.count)
            )
        )
    }
}
