import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Logging
import SanlianRPC
import SanlianWire

/// Ephemeral publish/subscribe.
extension BrokerHandlers {
    func publish(_ request: BrokerV1.PublishRequest, _ context: ServerContext) throws
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

    func subscribe(
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

    func readablePattern(_ text: String, _ context: ServerContext) throws -> SubjectPattern {
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
}
