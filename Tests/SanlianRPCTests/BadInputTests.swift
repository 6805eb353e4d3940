import NIOCore
import SanlianRPC
import SanlianTestHarness
import SanlianWire
import Testing

@Suite("Bad input over a real socket", .timeLimit(.minutes(1)))
struct BadInputTests {
    /// The GoAway a server answered with before closing, if any.
    static func goAway(in frames: [RPCV1.Frame]) -> RPCV1.Status? {
        for frame in frames {
            if case .goAway(let goAway)? = frame.kind { return goAway.status }
        }
        return nil
    }

    /// Checks that a normal client still gets answers after a bad peer was thrown out.
    static func expectServerStillServes(_ path: String) async throws {
        try await withClient(path: path) { client in
            let response = try await client.unary(echo, EchoV1.EchoRequest(payload: [1, 2, 3]))
            #expect(response.payload == [1, 2, 3])
        }
    }

    @Test("an oversize length prefix gets RESOURCE_EXHAUSTED naming both sizes, then a close")
    func oversizeFrame() async throws {
        try await withServer { path, _ in
            try await withClient(path: path) { bystander in
                var peer = try await RawPeer.connect(path)
                try await peer.sendRaw([0xFF, 0xFF, 0xFF, 0xFF])  // claims 4 GiB
                let status = Self.goAway(in: await peer.receiveUntilClosed())
                #expect(status?.code == .resourceExhausted)
                #expect(status?.message.contains("4294967295") == true)
                #expect(status?.message.contains("\(RPCDefaults.maxFrameBytes)") == true)
                // Another connection, open all along, is unaffected.
                let response = try await bystander.unary(echo, EchoV1.EchoRequest(payload: [9]))
                #expect(response.payload == [9])
            }
            try await Self.expectServerStillServes(path)
        }
    }

    @Test("garbage bytes get INVALID_ARGUMENT (malformed frame), then a close")
    func garbage() async throws {
        try await withServer { path, _ in
            var peer = try await RawPeer.connect(path)
            try await peer.sendRaw([0, 0, 0, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            let status = Self.goAway(in: await peer.receiveUntilClosed())
            #expect(status?.code == .invalidArgument)
            #expect(status?.message.contains("malformed frame") == true)
            try await Self.expectServerStillServes(path)
        }
    }

    @Test("a frame cut off by the peer closing leaves the server serving others")
    func truncatedFrame() async throws {
        try await withServer { path, _ in
            let peer = try await RawPeer.connect(path)
            try await peer.sendRaw([0, 0, 0, 100, 1, 2, 3])  // 100 bytes announced, 3 sent
            await peer.close()
            try await Self.expectServerStillServes(path)
        }
    }

    @Test("a call before the handshake gets UNAUTHENTICATED; a wrong protocol version FAILED_PRECONDITION")
    func handshakeRules() async throws {
        try await withServer { path, _ in
            var early = try await RawPeer.connect(path)
            try await early.send(
                RPCV1.Frame(callID: 1, kind: .start(RPCV1.CallStart(method: echo.path, timeoutMicros: 1_000_000)))
            )
            #expect(Self.goAway(in: await early.receiveUntilClosed())?.code == .unauthenticated)

            var future = try await RawPeer.connect(path)
            let answer = try await future.handshake(version: 99)
            guard case .goAway(let goAway)? = answer.kind else {
                Issue.record("expected GoAway, got \(answer)")
                return
            }
            #expect(goAway.status?.code == .failedPrecondition)
            #expect(goAway.status?.message.contains("99") == true)
        }
    }

    @Test("an authenticator's refusal is UNAUTHENTICATED and the client reports it")
    func refusedCredentials() async throws {
        struct OnlyStation: Authenticator {
            func authenticate(claim: IdentityClaim, credentials: PeerCredentials?) throws(RPCError)
                -> AuthenticatedIdentity
            {
                guard claim.department == "station" else {
                    throw RPCError(.unauthenticated, "unknown department \(claim.department)")
                }
                return AuthenticatedIdentity(department: claim.department, operatorID: claim.operatorID)
            }
        }
        try await withServer(configure: { $0.authenticator = OnlyStation() }) { path, _ in
            var peer = try await RawPeer.connect(path)
            let answer = try await peer.handshake(department: "impostor")
            guard case .goAway(let goAway)? = answer.kind else {
                Issue.record("expected GoAway, got \(answer)")
                return
            }
            #expect(goAway.status?.code == .unauthenticated)
            #expect(goAway.status?.message.contains("impostor") == true)

            // A client told no does not wait out its deadline: the refusal comes back at once.
            try await withClient(
                path: path,
                identity: IdentityClaim(department: "impostor"),
                waitForConnection: false
            ) { client in
                let clock = ContinuousClock()
                let started = clock.now
                await #expect {
                    try await client.unary(
                        echo,
                        EchoV1.EchoRequest(),
                        options: CallOptions(timeout: .seconds(30), waitForReady: true)
                    )
                } throws: { error in
                    let error = error as? RPCError
                    return error?.code == .unauthenticated && error!.message.contains("impostor")
                }
                #expect(clock.now - started < .seconds(10))
            }
        }
    }

    @Test("a peer that completes the handshake and then hangs is found by ping and closed")
    func hungPeerDetected() async throws {
        try await withServer(configure: {
            $0.connection.pingInterval = .milliseconds(100)
            $0.connection.pingTimeout = .milliseconds(200)
        }) { path, _ in
            var peer = try await RawPeer.connect(path)
            _ = try await peer.handshake()
            // Never answer: the server must give up on its own.
            let frames = await peer.receiveUntilClosed()
            #expect(frames.contains { if case .ping? = $0.kind { true } else { false } })
            #expect(Self.goAway(in: frames)?.message.contains("ping") == true)
        }
    }

    @Test("a peer that answers pings stays connected for twice the ping timeout")
    func livePeerKept() async throws {
        // The timeout is long enough to survive a loaded, sanitized run (1 s did not, once, under
        // AddressSanitizer with the whole suite running); the calls go on for twice as long, so
        // a client that never answered would have been dropped.
        let pingTimeout = Duration.seconds(2)
        try await withServer(configure: {
            $0.connection.pingInterval = .milliseconds(50)
            $0.connection.pingTimeout = pingTimeout
        }) { path, _ in
            try await withClient(path: path) { client in
                let first = try await client.connection(deadline: .now + .seconds(5))
                // Each 100 ms call leaves the server nothing to read for longer than the ping
                // interval, so it pings during every one of them.
                let clock = ContinuousClock()
                let end = clock.now + pingTimeout * 2
                while clock.now < end {
                    _ = try await client.unary(echo, EchoV1.EchoRequest(delayMs: 100))
                }
                let current = try await client.connection(deadline: .now + .seconds(5))
                #expect(first === current)
            }
        }
    }
}
