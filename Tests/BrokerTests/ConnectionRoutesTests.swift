import SanlianRPC
import SanlianWire
import Testing

@testable import BrokerCore

@Suite("A connection's routes, decided once per method")
struct ConnectionRoutesTests {
    static func forward(_ service: String) -> ConnectionRoutes.Route {
        .forward(ConnectionRoutes.Forwarding(service: service, stamps: EncodedMetadataEntries()))
    }

    @Test("whether a forwarded method streams is asked again only when the instance changes")
    func streamsRememberedPerInstance() {
        let forwarding = ConnectionRoutes.Forwarding(service: "svc", stamps: EncodedMetadataEntries())
        var asked: [UInt64] = []
        func streams(on id: UInt64, answer: Bool) -> Bool {
            forwarding.streams(onInstance: id) {
                asked.append(id)
                return answer
            }
        }
        #expect(streams(on: 1, answer: true))
        #expect(streams(on: 1, answer: false), "remembered, not asked again")
        #expect(!streams(on: 2, answer: false))
        #expect(!streams(on: 2, answer: true))
        #expect(streams(on: 1, answer: true), "the first instance is asked again after another")
        // Ids far up keep their low bit apart from the answer.
        #expect(!streams(on: UInt64.max >> 1, answer: false))
        #expect(!streams(on: UInt64.max >> 1, answer: true))
        #expect(streams(on: (UInt64.max >> 1) - 1, answer: true))
        #expect(asked == [1, 2, 1, UInt64.max >> 1, (UInt64.max >> 1) - 1])
    }

    @Test("each method is decided once; past the capacity new methods are decided every time, not kept")
    func decidedOncePerMethodAndBounded() {
        let routes = ConnectionRoutes()
        var decisions = 0
        func route(_ method: String) -> ConnectionRoutes.Route {
            routes.route(of: method) {
                decisions += 1
                return Self.forward("svc")
            }
        }
        for _ in 0..<3 { _ = route("/svc/A") }
        #expect(decisions == 1)
        for index in 0..<ConnectionRoutes.capacity { _ = route("/svc/M\(index)") }
        #expect(decisions == 1 + ConnectionRoutes.capacity)
        // Full: a method seen first now is decided on every call.
        _ = route("/svc/late")
        _ = route("/svc/late")
        #expect(decisions == 3 + ConnectionRoutes.capacity)
        // What it kept stays kept.
        _ = route("/svc/A")
        #expect(decisions == 3 + ConnectionRoutes.capacity)
    }

    @Test("methods asked in turn each get their own route, decided once")
    func alternatingMethods() {
        let routes = ConnectionRoutes()
        var decisions = 0
        func service(_ method: String) -> String? {
            let route = routes.route(of: method) {
                decisions += 1
                return Self.forward(String(method.dropFirst().prefix { $0 != "/" }))
            }
            guard case .forward(let forwarding) = route else { return nil }
            return forwarding.service
        }
        for _ in 0..<3 {
            #expect(service("/a.A/M") == "a.A")
            #expect(service("/b.B/M") == "b.B")
            #expect(service("/b.B/M") == "b.B")
        }
        #expect(decisions == 2)
    }

    @Test("a refusal is remembered as the refusal, with its message")
    func refusalRemembered() {
        let routes = ConnectionRoutes()
        _ = routes.route(of: "/x.Y/Z") {
            .refused(RPCError(.permissionDenied, "department traffic may not call /x.Y/Z"))
        }
        guard case .refused(let error) = routes.route(of: "/x.Y/Z", { .local }) else {
            Issue.record("the refusal was not kept")
            return
        }
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains("/x.Y/Z"))
    }

    @Test("the stamps name the caller's department, operator and uid, in that order")
    func stamps() throws {
        let routes = ConnectionRoutes()
        let peer = PeerIdentity(
            credentials: PeerCredentials(pid: 1, uid: 1042, gid: 1),
            department: "station",
            operatorID: "duty-0421"
        )
        let expected = [
            RPCV1.MetadataEntry(key: "sanlian-department", value: "station"),
            RPCV1.MetadataEntry(key: "sanlian-operator", value: "duty-0421"),
            RPCV1.MetadataEntry(key: "sanlian-peer-uid", value: "1042"),
        ]
        #expect(ConnectionRoutes.stampEntries(of: peer) == expected)
        #expect(try routes.stamps(of: peer) == EncodedMetadataEntries(expected))
        #expect(try routes.stamps(of: peer) == EncodedMetadataEntries(expected), "and the same from the memo")
    }
}
