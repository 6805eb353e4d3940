import BrokerRouting
import Testing

@Suite("Routing a method path to its service", .timeLimit(.minutes(1)))
struct RouteTableTests {
    @Test(
        "well-formed paths name their service",
        arguments: [
            ("/sanlian.patrol.v1.Roster/GetVolunteer", "sanlian.patrol.v1.Roster"),
            ("/a/b", "a"),
            ("/联防.v1.巡逻/排班", "联防.v1.巡逻"),
        ]
    )
    func wellFormed(path: String, service: String) {
        #expect(RouteTable.serviceName(of: path) == service)
    }

    @Test(
        "malformed paths name none",
        arguments: ["", "/", "//", "/a/", "//b", "a/b", "/a/b/c", "/ab", "sanlian.patrol.v1.Roster/Get"]
    )
    func malformed(path: String) {
        #expect(RouteTable.serviceName(of: path) == nil)
    }
}
