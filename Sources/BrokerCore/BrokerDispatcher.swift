import BrokerAccess
import BrokerRouting
import Logging
import SanlianRPC
import SanlianWire

/// Decides, on the event loop, what happens to each call a connection starts: the broker's own
/// services are handled locally; everything else is checked against the caller's ACL and
/// forwarded to an instance of the service, with the caller's authenticated identity stamped in.
struct BrokerDispatcher: InboundCallDispatcher {
    let inbox: CallInbox
    let policy: AccessPolicy
    let routes: RouteTable
    let localServices: Set<String>
    let logger: Logger

    /// Forwarded requests stay undecoded (`CallForwarder`); the broker's own services read theirs
    /// out of the frame.
    var readsCallsUndecoded: Bool { true }

    /// Per connection: the dispatcher is made for each one the broker accepts.
    let connectionRoutes = ConnectionRoutes()

    func dispatch(_ call: InboundCall) -> DispatchedCall {
        switch connectionRoutes.route(of: call.method, { route(of: call.method, peer: call.peer) }) {
        case .refused(let error):
            logger.info(
                "Call refused",
                metadata: [
                    "rpc.department": "\(call.peer.department)", "rpc.method": "\(call.method)",
                    "rpc.code": "PERMISSION_DENIED",
                ]
            )
            call.finish(CallOutcome(error: error))
            return .bounded
        case .malformed:
            call.finish(CallOutcome(error: RPCError(.unimplemented, "malformed method path \(call.method)")))
            return .bounded
        case .unstampable:
            call.finish(CallOutcome(error: .internalError()))
            return .bounded
        case .local:
            return inbox.dispatch(call)
        case .forward(let forwarding):
            guard let instance = routes.pick(service: forwarding.service) else {
                call.finish(
                    CallOutcome(
                        error: RPCError(.unavailable, "no instance of \(forwarding.service) is connected to the broker")
                    )
                )
                return .bounded
            }
            var metadata = call.metadata
            // The reserved keys are the broker's to set: a caller's own are dropped.
            metadata.removeReserved()
            CallForwarder.forward(
                call,
                to: instance,
                service: forwarding.service,
                metadata: metadata,
                stamps: forwarding.stamps
            )
            return forwarding.streams(call.method, on: instance) ? .open : .bounded
        }
    }

    /// Where calls of `method` from `peer` go: the ACL first, then the broker's own services,
    /// then the routed ones, with the caller's identity stamps.
    private func route(of method: String, peer: PeerIdentity) -> ConnectionRoutes.Route {
        do {
            try policy.authorizeCall(department: peer.department, method: method)
        } catch {
            return .refused(error)
        }
        guard let service = RouteTable.serviceName(of: method) else { return .malformed }
        if localServices.contains(service) { return .local }
        do {
            return .forward(
                ConnectionRoutes.Forwarding(service: service, stamps: try connectionRoutes.stamps(of: peer))
            )
        } catch {
            logger.error("Caller identity not encodable", metadata: ["rpc.error": "\(error)"])
            return .unstampable
        }
    }

    func finish() {
        inbox.finish()
    }
}
