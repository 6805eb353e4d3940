import NIOCore
package import SanlianRPC
package import SanlianWire
import Synchronization

/// Which connected service process serves which service, for routing calls by method path.
/// Instances of one service are used in turn (round-robin). An instance disappears with its
/// connection.
package final class RouteTable: Sendable {
    /// A class, not a struct: every forwarded call picks one, and handing out a reference costs
    /// one retain where a copy of the fields cost one for each.
    package final class Instance: Sendable {
        package let id: UInt64
        package let name: String
        package let department: String
        package let connection: RPCConnection
        package let services: [BrokerV1.ServiceDescriptor]
        /// Paths of the methods it registered as server-streaming, worked out once.
        package let streamingMethods: Set<String>
        package let registeredUnixMs: Int64
        /// Its latest status report and when it came.
        private let report = Mutex<(detail: [CommonV1.KeyValue], unixMs: Int64)>(([], 0))

        /// Keeps `detail` as the instance's latest report.
        package func record(_ detail: [CommonV1.KeyValue], at unixMs: Int64) {
            report.withLock { $0 = (detail, unixMs) }
        }

        package var status: BrokerV1.InstanceStatus {
            let (detail, unixMs) = report.withLock { $0 }
            return BrokerV1.InstanceStatus(
                name: name,
                department: department,
                detail: detail,
                reportedUnixMs: unixMs,
                registeredUnixMs: registeredUnixMs
            )
        }

        init(
            id: UInt64,
            name: String,
            department: String,
            connection: RPCConnection,
            services: [BrokerV1.ServiceDescriptor],
            streamingMethods: Set<String>,
            registeredUnixMs: Int64
        ) {
            self.registeredUnixMs = registeredUnixMs
            self.id = id
            self.name = name
            self.department = department
            self.connection = connection
            self.services = services
            self.streamingMethods = streamingMethods
        }

        /// Whether the instance's method at `path` answers with a stream.
        package func streams(_ path: String) -> Bool {
            !streamingMethods.isEmpty && streamingMethods.contains(path)
        }
    }

    private struct State {
        var instances: [UInt64: Instance] = [:]
        /// Service name → instance ids, in registration order, and whose turn is next.
        var byService: [String: ServiceInstances] = [:]
        var nextID: UInt64 = 1
        var watchers: [UInt64: @Sendable () -> Void] = [:]
    }

    private struct ServiceInstances {
        var ids: [UInt64] = []
        var nextTurn = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Registers what `connection` serves, replacing an earlier registration on the same connection.
    /// - Returns: the instance id.
    package func register(
        connection: RPCConnection,
        name: String,
        department: String,
        services: [BrokerV1.ServiceDescriptor],
        at unixMs: Int64 = 0
    ) -> UInt64 {
        let (id, isNew, watchers) = state.withLock { state -> (UInt64, Bool, [@Sendable () -> Void]) in
            if let existing = state.instances.values.first(where: { $0.connection === connection }) {
                Self.remove(existing.id, from: &state)
            }
            let id = state.nextID
            state.nextID += 1
            state.instances[id] = Instance(
                id: id,
                name: name,
                department: department,
                connection: connection,
                services: services,
                streamingMethods: Set(
                    services.flatMap { service in
                        service.methods.filter(\.serverStreaming).map { "/\(service.name)/\($0.name)" }
                    }
                ),
                registeredUnixMs: unixMs
            )
            for service in services { state.byService[service.name, default: ServiceInstances()].ids.append(id) }
            return (id, true, Array(state.watchers.values))
        }
        if isNew {
            connection.closeFuture.whenComplete { [weak self] _ in self?.remove(instance: id) }
        }
        for watcher in watchers { watcher() }
        return id
    }

    package func remove(instance id: UInt64) {
        let watchers = state.withLock { state -> [@Sendable () -> Void] in
            guard state.instances[id] != nil else { return [] }
            Self.remove(id, from: &state)
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher() }
    }

    private static func remove(_ id: UInt64, from state: inout State) {
        guard let instance = state.instances.removeValue(forKey: id) else { return }
        for service in instance.services {
            state.byService[service.name]?.ids.removeAll { $0 == id }
            if state.byService[service.name]?.ids.isEmpty == true { state.byService.removeValue(forKey: service.name) }
        }
    }

    /// "/sanlian.patrol.v1.Roster/GetVolunteer" → "sanlian.patrol.v1.Roster". One pass over the
    /// bytes: this runs for every forwarded call.
    package static func serviceName(of method: String) -> String? {
        var method = method
        return method.withUTF8 { bytes -> String? in
            let slash = UInt8(ascii: "/")
            guard bytes.count > 3, bytes[0] == slash else { return nil }
            var second: Int?
            for index in 1..<bytes.count where bytes[index] == slash {
                guard second == nil else { return nil }
                second = index
            }
            guard let second, second > 1, second < bytes.count - 1 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[1..<second]), as: UTF8.self)
        }
    }

    /// The next instance serving `service`, taking turns; nil when none is connected.
    package func pick(service: String) -> Instance? {
        state.withLock { state in
            // One hash of the name per call: the index serves the read and the update.
            guard let index = state.byService.index(forKey: service) else { return nil }
            let ids = state.byService.values[index].ids
            guard !ids.isEmpty else { return nil }
            let turn = state.byService.values[index].nextTurn % ids.count
            state.byService.values[index].nextTurn = turn + 1
            return state.instances[ids[turn]]
        }
    }

    /// The instance registered on `connection`, if any.
    package func instance(on connection: RPCConnection) -> Instance? {
        state.withLock { $0.instances.values.first { $0.connection === connection } }
    }

    /// The instances of `service`.
    package func instances(of service: String) -> [Instance] {
        state.withLock { state in (state.byService[service]?.ids ?? []).compactMap { state.instances[$0] } }
    }

    package func instanceCount(service: String) -> Int {
        state.withLock { $0.byService[service]?.ids.count ?? 0 }
    }

    /// Every routed service with its methods and instances.
    package func services() -> [BrokerV1.ServiceStatus] {
        state.withLock { state in
            state.byService.keys.sorted().map { name in
                let instances = (state.byService[name]?.ids ?? []).compactMap { state.instances[$0] }
                let descriptor =
                    instances.first?.services.first { $0.name == name } ?? BrokerV1.ServiceDescriptor(name: name)
                return BrokerV1.ServiceStatus(
                    service: descriptor,
                    instances: UInt32(instances.count),
                    instanceNames: instances.map(\.name),
                    instanceStatus: instances.map(\.status)
                )
            }
        }
    }

    /// Calls `watcher` after every change; returns an id for `removeWatcher`.
    package func addWatcher(_ watcher: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            state.watchers[state.nextID] = watcher
            return state.nextID
        }
    }

    package func removeWatcher(_ id: UInt64) {
        _ = state.withLock { $0.watchers.removeValue(forKey: id) }
    }
}
