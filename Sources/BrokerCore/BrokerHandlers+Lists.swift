import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Logging
import SanlianRPC
import SanlianWire

/// The lists, each paged and cut to fit the caller's frame.
extension BrokerHandlers {
    func listAggregates(_ request: BrokerV1.ListAggregatesRequest, _ context: ServerContext) async throws
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

    func getAggregate(_ request: BrokerV1.GetAggregateRequest, _ context: ServerContext) async throws
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

    func listDeadLetters(_ request: BrokerV1.ListDeadLettersRequest, _ context: ServerContext) async throws
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

    func listServices(_ request: BrokerV1.ListServicesRequest, _ context: ServerContext) throws
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
