import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Logging
import SanlianClock
import SanlianRPC
import SanlianWire

/// The alert ledger: publishing, durable subscriptions, reading, acting on aggregates.
extension BrokerHandlers {
    func publishAlert(
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

    func subscribeLedger(
        _ request: BrokerV1.SubscribeLedgerRequest,
        _ writer: ResponseStreamWriter<BrokerV1.LedgerDelivery>,
        _ context: ServerContext
    ) async throws {
        let department = context.peer.department
        try SubscriptionRules.checkName(request.name)
        let pattern = try readablePattern(request.subjectPattern, context)
        let start = SubscriptionRules.start(request.start)
        let settings = SubscriptionRules.settings(request, defaults: delivery)
        let readable = policy.readPermission(of: department)
        try await subscriptions.run(
            department: department,
            name: request.name,
            pattern: pattern.description,
            start: start,
            settings: settings,
            takeOver: request.takeOver,
            include: { subject in pattern.matches(subject) && readable.allows(subject) },
            send: { delivery in try await writer.send(encoded: delivery) }
        )
    }

    func readLedger(_ request: BrokerV1.ReadLedgerRequest, _ context: ServerContext) async throws
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

    func ackLedger(_ request: BrokerV1.AckLedgerRequest, _ context: ServerContext) async throws
        -> BrokerV1.AckLedgerResponse
    {
        try RequestRules.checkSequences(request.sequences)
        let through = try await subscriptions.acknowledge(
            department: context.peer.department,
            name: request.name,
            sequences: request.sequences
        )
        return BrokerV1.AckLedgerResponse(acknowledgedThrough: through)
    }

    func getSubscription(_ request: BrokerV1.GetSubscriptionRequest, _ context: ServerContext) async throws
        -> BrokerV1.GetSubscriptionResponse
    {
        try SubscriptionRules.checkName(request.name)
        let department = context.peer.department
        guard let stored = try await ledger.subscription(department: department, name: request.name) else {
            return BrokerV1.GetSubscriptionResponse(exists: false)
        }
        return BrokerV1.GetSubscriptionResponse(
            exists: true,
            subjectPattern: stored.pattern,
            acknowledgedThrough: stored.ackedThrough,
            connected: subscriptions.isConnected(department: department, name: request.name)
        )
    }

    func redriveDeadLetters(_ request: BrokerV1.RedriveDeadLettersRequest, _ context: ServerContext) async throws
        -> BrokerV1.RedriveDeadLettersResponse
    {
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

    /// Acknowledges (firing → acknowledged) or resolves an aggregate, as the caller.
    func act(on request: BrokerV1.AggregateActionRequest, _ context: ServerContext, acknowledge: Bool) async throws
        -> BrokerV1.AggregateActionResponse
    {
        try RequestRules.checkAggregateAction(request)
        let by = actor(context)
        let aggregate =
            acknowledge
            ? try await ledger.acknowledge(fingerprint: request.fingerprint, by: by, note: request.note)
            : try await ledger.resolve(fingerprint: request.fingerprint, by: by, note: request.note)
        logger.info(
            acknowledge ? "Aggregate acknowledged" : "Aggregate resolved",
            metadata: [
                "broker.fingerprint": "\(request.fingerprint)", "broker.by": "\(by)", "broker.note": "\(request.note)",
            ]
        )
        return BrokerV1.AggregateActionResponse(aggregate: aggregate)
    }
}
