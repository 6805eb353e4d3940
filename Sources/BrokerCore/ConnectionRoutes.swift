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
        case forward(Forwarding)
        /// The caller's identity could not be encoded as stamps (never for one the handshake
        /// decoded, whose strings hold no NUL).
        case unstampable
    }

    /// A forwarded method's route, kept for the connection: the service, the caller's identity
    /// stamps, and whether the method streams on the instance it went to last. Everything a
    /// forwarded call needs beyond the instance it is sent to, behind one lookup of the method.
    final class Forwarding: Sendable {
        let service: String
        let stamps: EncodedMetadataEntries
        /// The instance the method went to last and whether it streams there, packed as
        /// `id << 1 | streams` (instance ids start at 1, so 0 is "none yet"): the instance's set
        /// of streaming methods is hashed only when the instance changes, and an instance that
        /// registers again gets a new id, so an answer never outlives its registration. Relaxed
        /// is enough: a stale read only asks the instance again.
        private let lastStreams = Atomic<UInt64>(0)

        init(service: String, stamps: EncodedMetadataEntries) {
            self.service = service
            self.stamps = stamps
        }

        /// Whether `method` (the one this route is of) answers with a stream on `instance`
        /// (`RouteTable.Instance.streams`).
        func streams(_ method: String, on instance: RouteTable.Instance) -> Bool {
            streams(onInstance: instance.id) { instance.streams(method) }
        }

        /// `streams(_:on:)` with the instance's answer asked through `ask`, for tests.
        func streams(onInstance id: UInt64, _ ask: () -> Bool) -> Bool {
            let last = lastStreams.load(ordering: .relaxed)
            if last >> 1 == id { return last & 1 == 1 }
            let streams = ask()
            lastStreams.store(id << 1 | (streams ? 1 : 0), ordering: .relaxed)
            return streams
        }
    }

    private struct State {
        var routes: [String: Route] = [:]
        /// The method asked last and its route: a connection mostly calls one method over and
        /// over, and comparing the path costs less than hashing it.
        var last: (method: String, route: Route)?
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

    /// The metadata the broker stamps on every call of `peer`, encoded the first time.
    /// - Throws: `WireError` when the identity cannot be encoded (never for one the handshake
    ///   decoded, whose strings hold no NUL).
    func stamps(of peer: PeerIdentity) throws(WireError) -> EncodedMetadataEntries {
        if let stamps = state.withLock({ $0.stamps }) { return stamps }
        let stamps = try EncodedMetadataEntries(Self.stampEntries(of: peer))
        state.withLock { $0.stamps = stamps }
        return stamps
    }

    /// The entries of `stamps(of:)`: the caller's department, operator, roles, scope, grants
    /// and uid, as the handshake authenticated them.
    static func stampEntries(of peer: PeerIdentity) -> [RPCV1.MetadataEntry] {
        var metadata = Metadata()
        metadata.add(MetadataKey.department, peer.department)
        metadata.add(MetadataKey.operatorID, peer.operatorID)
        if let uid = peer.credentials?.uid { metadata.add(MetadataKey.peerUID, String(uid)) }
        if !peer.roles.isEmpty { metadata.add(MetadataKey.roles, peer.roles.joined(separator: ",")) }
        for item in peer.scope { metadata.add(MetadataKey.scope, item) }
        if !peer.grants.isEmpty { metadata.add(MetadataKey.grants, peer.grants.joined(separator: ",")) }
        return metadata.wire
    }
}
