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

    func dispatch(_ call: InboundCall) {
        let department = call.peer.department
        do {
            try policy.authorizeCall(department: department, method: call.method)
        } catch {
            logger.info(
                "Call refused",
                metadata: [
                    "rpc.department": "\(department)", "rpc.method": "\(call.method)", "rpc.code": "PERMISSION_DENIED",
                ]
            )
            call.finish(CallOutcome(error: error))
            return
        }
        guard let service = RouteTable.serviceName(of: call.method) else {
            call.finish(CallOutcome(error: RPCError(.unimplemented, "malformed method path \(call.method)")))
            return
        }
        if localServices.contains(service) {
            inbox.dispatch(call)
            return
        }
        guard let instance = routes.pick(service: service) else {
            call.finish(
                CallOutcome(error: RPCError(.unavailable, "no instance of \(service) is connected to the broker"))
            )
            return
        }
        CallForwarder.forward(call, to: instance, service: service, metadata: Self.stamped(call))
    }

    func finish() {
        inbox.finish()
    }

    /// The caller's metadata with the reserved keys replaced by what the broker authenticated.
    static func stamped(_ call: InboundCall) -> Metadata {
        var metadata = call.metadata
        metadata.removeReserved()
        let peer = call.peer
        // Room for the three stamps at once rather than growing the array once per stamp.
        metadata.reserveCapacity(metadata.count + 3)
        metadata.add(MetadataKey.department, peer.department)
        metadata.add(MetadataKey.operatorID, peer.operatorID)
        if let uid = peer.credentials?.uid { metadata.add(MetadataKey.peerUID, String(uid)) }
        return metadata
    }
}
