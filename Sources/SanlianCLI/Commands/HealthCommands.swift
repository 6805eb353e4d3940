import ArgumentParser
import SanlianContracts
import SanlianRPC
import SanlianWire

/// `sanlian health [SERVICE]`: the broker's health, or a service's behind it.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check the broker, or a service behind it; exit status 2 when it is not serving."
    )

    @Argument(help: "A service name, e.g. sanlian.hazards.v1.Hazards (default: the broker itself).")
    var service: String = ""

    @Flag(help: "Print JSON.") var json = false

    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let status = try await BrokerSession.run(connection) { session in
            try await session.health.check(HealthV1.HealthCheckRequest(service: service)).status
        }
        let name = service.isEmpty ? "sanlian-broker" : service
        if json {
            Output.json(fields: ["service": .string(name), "status": .string(status.shortName)])
        } else {
            Console.current.line("\(name): \(Labels.servingStatus(status))")
        }
        if status != .serving { throw ExitCode(2) }
    }
}

/// `sanlian services`: what the broker routes.
struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List the services the broker routes, with their instances and methods."
    )

    @Flag(help: "Print JSON.") var json = false

    @OptionGroup(title: "Connection options") var connection: ConnectionOptions

    func run() async throws {
        let services = try await BrokerSession.run(connection) { session in
            var all: [BrokerV1.ServiceStatus] = []
            var token = ""
            repeat {
                let page = try await session.broker.listServices(
                    BrokerV1.ListServicesRequest(page: CommonV1.PageRequest(pageToken: token))
                )
                all += page.services
                token = page.page?.nextPageToken ?? ""
            } while !token.isEmpty
            return all
        }
        if json {
            Output.json(services)
            return
        }
        Output.table(
            [Labels.text("服务", "SERVICE"), Labels.text("实例", "INSTANCES"), Labels.text("方法", "METHODS")],
            services.map {
                [
                    $0.service?.name ?? "", $0.instanceNames.joined(separator: ","),
                    ($0.service?.methods ?? []).map(\.name).joined(separator: " "),
                ]
            }
        )
    }
}
