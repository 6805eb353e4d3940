import BrokerRouting
import SanlianRPC
import SanlianWire
import Synchronization

/// What one connection's calls come to, worked out once per method rather than per call: the
/// ACL decision, the service a method belongs to and whether the broker serves it itself do not
/// change while a connection lasts (its department is fixed by the handshake, the compose file
/// is read at start), and neither do the identity stamps of its caller. Bounded, as method paths
/// come from the caller.
final class ConnectionRoutes: Sendable {
    enum Route: Sendable {
        case refused(RPCError)
        case malformed
        case local
        case forward(service: String)
    }

    private struct State {
        var routes: [String: Route] = [:]
        /// The method asked last and its route: a connection mostly calls one method over and
        /// over, and comparing the path costs less than hashing it.
        var last: (method: String, route: Route)?
        /// Whether the method forwarded last streams on the instance it went to, for the same
        /// reason: the instance's set of streaming methods is hashed only when either changes. An
        /// instance re-registering gets a new id, so an answer never outlives its registration.
        var lastStreams: (method: String, instanceID: UInt64, streams: Bool)?
        var stamps: EncodedMetadataEntries?
    }

    /// Methods remembered per connection; a caller trying more gets each decided afresh.
    static let capacity = 256
    private let state = Mutex(State())

    /// The route of `method`, decided by `decide` the first time.
    func route(of method: String, _ decide: () -> Route) -> Route {
        let known = state.withLock { state -> Route? in
            if let last = state.last, last.method == method { return last.route }
            guard let route = state.routes[method] else { return nil }
            state.last = (method, route)
            return route
        }
        if let known { return known }
        let route = decide()
        state.withLock { state in
            if state.routes.count < Self.capacity {
                state.routes[method] = route
                state.last = (method, route)
            }
        }
        return route
    }

    /// Whether `method` answers with a stream on `instance` (`RouteTable.Instance.streams`).
    func streams(_ method: String, on instance: RouteTable.Instance) -> Bool {
        state.withLock { state in
            if let last = state.lastStreams, last.instanceID == instance.id, last.method == method {
                return last.streams
            }
            let streams = instance.streams(method)
            state.lastStreams = (method, instance.id, streams)
            return streams
        }
    }

    /// The metadata the broker stamps on every call of `peer`, encoded the first time.
    /// - Throws: `WireError` when the identity cannot be encoded (never for one the handshake
    ///   decoded, whose strings hold no NUL).
    func stamps(of peer: PeerIdentity) throws(WireError) -> EncodedMetadataEntries {
        if let stamps = state.withLock({ $0.stamps }) { return stamps }
        let stamps = try EncodedMetadataEntries(Self.stampEntries(of: peer))
        state.withLock { $0.stamps = stamps }
        return stamps
    }

    /// The entries of `stamps(of:)`: the caller's department, operator and uid.
    static func stampEntries(of peer: PeerIdentity) -> [RPCV1.MetadataEntry] {
        var metadata = Metadata()
        metadata.add(MetadataKey.department, peer.department)
        metadata.add(MetadataKey.operatorID, peer.operatorID)
        if let uid = peer.credentials?.uid { metadata.add(MetadataKey.peerUID, String(uid)) }
        return metadata.wire
    }
}
