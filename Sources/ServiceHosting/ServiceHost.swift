package import Logging
package import SanlianRPC
import SanlianWire
import ServiceLifecycle

/// Serves a router's services through the broker: dials the broker, registers every service the
/// router serves after each (re)connect, and answers the calls the broker forwards.
package struct ServiceHost: Service {
    package let client: RPCClient
    private let registered = ReadinessSignal()

    package init(brokerSocket: String, identity: IdentityClaim, router: RPCRouter, instanceName: String, logger: Logger)
    {
        let services = router.services.sorted { $0.key < $1.key }.map { name, methods in
            BrokerV1.ServiceDescriptor(
                name: name,
                methods: methods.map {
                    BrokerV1.MethodDescriptor(
                        name: $0.method,
                        serverStreaming: $0.kind.serverStreams,
                        clientStreaming: $0.kind.clientStreams
                    )
                }
            )
        }
        let registered = registered
        client = RPCClient(
            configuration: ClientConfiguration(socketPath: brokerSocket, identity: identity),
            router: router,
            logger: logger,
            onConnected: { connection in
                let outcome = try? await connection.unary(
                    BrokerV1.Broker.registerServices,
                    BrokerV1.RegisterRequest(services: services, instance: instanceName),
                    options: CallOptions(timeout: .seconds(10))
                )
                if outcome == nil {
                    logger.error("Registration with the broker failed", metadata: ["socket.path": "\(brokerSocket)"])
                    connection.close()
                } else {
                    logger.info("Registered with the broker", metadata: ["broker.instance": "\(instanceName)"])
                    registered.succeed()
                }
            }
        )
    }

    package func run() async throws {
        try await client.run()
    }

    /// Returns once the first registration with the broker has succeeded.
    package func waitUntilRegistered() async throws {
        try await registered.wait()
    }
}
