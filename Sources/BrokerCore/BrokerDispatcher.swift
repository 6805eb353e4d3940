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
        guard let service = Self.serviceName(of: call.method) else {
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

    /// "/sanlian.patrol.v1.Roster/GetVolunteer" → "sanlian.patrol.v1.Roster".
    static func serviceName(of method: String) -> String? {
        let utf8 = method.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        let afterSlash = utf8.index(after: utf8.startIndex)
        guard let slash = utf8[afterSlash...].firstIndex(of: UInt8(ascii: "/")), slash != afterSlash,
            utf8.index(after: slash) != utf8.endIndex,
            !utf8[utf8.index(after: slash)...].contains(UInt8(ascii: "/"))
        else { return nil }
        return String(method[afterSlash..<slash])
    }

    /// The caller's metadata with the reserved keys replaced by what the broker authenticated.
    static func stamped(_ call: InboundCall) -> Metadata {
        var metadata = call.metadata
        metadata.removeReserved()
        metadata.add(MetadataKey.department, call.peer.department)
        metadata.add(MetadataKey.operatorID, call.peer.operatorID)
        if let uid = call.peer.credentials?.uid { metadata.add(MetadataKey.peerUID, String(uid)) }
        return metadata
    }
}
