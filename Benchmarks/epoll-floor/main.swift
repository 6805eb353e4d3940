#if os(Linux)
    import CSanlianSystem
    import Glibc

    // epoll-floor: the benchmark's third floor. bench/c/relay.c and echo_server.c line for line in
    // Swift, on epoll directly, without SwiftNIO: what Swift itself costs for the same system calls.
    // Beside the C floor and nio-floor it splits the gap between the C floor and Sanlian into the
    // language, SwiftNIO, and the RPC runtime and broker (docs/PERFORMANCE.md, "Decisions that stand";
    // `bench/tools/floors.sh`). Not part of the township.
    //
    // usage: epoll-floor relay LISTEN_PATH UPSTREAM_PATH
    //        epoll-floor echo LISTEN_PATH

    let usage = "usage: epoll-floor relay LISTEN_PATH UPSTREAM_PATH | epoll-floor echo LISTEN_PATH"

    func fail(_ message: String) -> Never {
        var line = "epoll-floor: \(message)\n"
        line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
        exit(2)
    }

    /// A Unix socket address for `path`, or nil when the path does not fit.
    func unixAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Calls `body` with `address` as the `sockaddr` the socket calls take.
    func withSocketAddress<Result>(
        _ address: sockaddr_un,
        _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
    ) -> Result {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    func listenUnix(_ path: String) -> Int32 {
        guard let address = unixAddress(path) else { fail("socket path too long: \(path)") }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, withSocketAddress(address, { bind(fd, $0, $1) }) == 0, listen(fd, 128) == 0 else {
            fail("cannot listen on \(path): errno \(errno)")
        }
        return fd
    }

    /// A connection to `path`, or -1.
    func connectUnix(_ path: String) -> Int32 {
        guard let address = unixAddress(path) else { return -1 }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        guard withSocketAddress(address, { connect(fd, $0, $1) }) == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Writes all `count` bytes at `bytes` to `fd` (blocking, as the C floor's `write_all`).
    func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Bool {
        var written = 0
        while written < count {
            let result = write(fd, bytes + written, count - written)
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }

    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "-h" || arguments.first == "--help" {
        print(usage)
        exit(0)
    }
    // Started from a thread that blocks signals, SIGTERM would never arrive (as nio-floor).
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    pthread_sigmask(SIG_SETMASK, &unblocked, nil)
    let upstreamPath: String?
    switch (arguments.first, arguments.count) {
    case ("echo", 2): upstreamPath = nil
    case ("relay", 3): upstreamPath = arguments[2]
    default: fail(usage)
    }

    let listener = listenUnix(arguments[1])
    let epoll = epoll_create1(0)
    guard epoll >= 0 else { fail("epoll_create1: errno \(errno)") }
    func watch(_ fd: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
    }
    watch(listener)
    // The descriptor each one's bytes go to: its upstream or client when relaying, itself when echoing.
    let maxDescriptors = 65_536
    var partner = [Int32](repeating: -1, count: maxDescriptors)
    let bufferSize = 1 << 16
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 64)
    while true {
        let ready = epoll_wait(epoll, events, 64, -1)
        guard ready >= 0 else {
            if errno == EINTR { continue }
            fail("epoll_wait: errno \(errno)")
        }
        for index in 0..<Int(ready) {
            let fd = events[index].data.fd
            if fd == listener {
                let client = accept(listener, nil, nil)
                guard client >= 0, client < maxDescriptors else {
                    if client >= 0 { close(client) }
                    continue
                }
                if let upstreamPath {
                    let upstream = connectUnix(upstreamPath)
                    guard upstream >= 0, upstream < maxDescriptors else {
                        close(client)
                        if upstream >= 0 { close(upstream) }
                        continue
                    }
                    partner[Int(client)] = upstream
                    partner[Int(upstream)] = client
                    watch(upstream)
                } else {
                    partner[Int(client)] = client
                }
                watch(client)
                continue
            }
            let got = read(fd, buffer, bufferSize)
            let other = partner[Int(fd)]
            if got <= 0 || !writeAll(other, buffer, got) {
                epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
                close(fd)
                if other != fd {
                    epoll_ctl(epoll, EPOLL_CTL_DEL, other, nil)
                    close(other)
                }
            }
        }
    }
#else
    print("epoll-floor: Linux only")
#endif
