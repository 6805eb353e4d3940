package import AlertLedger
import BrokerAccess
import BrokerPubSub
import BrokerRouting
import Foundation
import Logging
import SanlianClock
package import SanlianRPC
import SanlianWire
import Synchronization

extension LedgerError: RPCErrorConvertible {
    package var rpcErrorCode: StatusCode {
        switch kind {
        case .invalid: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .aborted: .aborted
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
    let clock: any WallClock
    let logger: Logger

    static let localServices: Set<String> = [BrokerV1.Broker.name, HealthV1.Health.name]

    /// Every method of `sanlian.broker.v1.Broker` and `sanlian.health.v1.Health`, each to the
    /// function that serves it (in the files `BrokerHandlers+…`).
    func register(on router: inout RPCRouter) {
        router.register(BrokerV1.Broker.registerServices, withConnection: registerServices)
        router.register(BrokerV1.Broker.publish, handler: publish)
        router.register(BrokerV1.Broker.subscribe, streaming: subscribe)
        // Immediate: validated on the event loop and answered from the ledger's commit, with no
        // task per alert (the publishing hot path).
        router.register(BrokerV1.Broker.publishAlert, immediate: publishAlert)
        router.register(BrokerV1.Broker.subscribeLedger, streaming: subscribeLedger)
        router.register(BrokerV1.Broker.ackLedger, handler: ackLedger)
        router.register(BrokerV1.Broker.getSubscription, handler: getSubscription)
        router.register(BrokerV1.Broker.readLedger, handler: readLedger)
        router.register(BrokerV1.Broker.acknowledgeAggregate) { request, context in
            try await act(on: request, context, acknowledge: true)
        }
        router.register(BrokerV1.Broker.resolveAggregate) { request, context in
            try await act(on: request, context, acknowledge: false)
        }
        router.register(BrokerV1.Broker.listAggregates, handler: listAggregates)
        router.register(BrokerV1.Broker.getAggregate, handler: getAggregate)
        router.register(BrokerV1.Broker.listDeadLetters, handler: listDeadLetters)
        router.register(BrokerV1.Broker.redriveDeadLetters, handler: redriveDeadLetters)
        router.register(BrokerV1.Broker.listServices, handler: listServices)
        router.register(BrokerV1.Broker.reportStatus, withConnection: reportStatus)
        router.register(HealthV1.Health.check, handler: checkHealth)
        router.register(HealthV1.Health.watch, streaming: watchHealth)
    }

    static func describe(_ method: WireMethodDescription) -> BrokerV1.MethodDescriptor {
        BrokerV1.MethodDescriptor(
            name: method.method,
            serverStreaming: method.kind.serverStreams,
            clientStreaming: method.kind.clientStreams
        )
    }

    /// Who acts, as the ledger records it: "department/operator", or the department alone.
    func actor(_ context: ServerContext) -> String {
        context.peer.operatorID.isEmpty
            ? context.peer.department : "\(context.peer.department)/\(context.peer.operatorID)"
    }
}
