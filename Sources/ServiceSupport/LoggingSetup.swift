package import Logging

/// Logging for executables: one bootstrap per process, to standard error (standard output
/// belongs to command output), level from `--log-level` or `LOG_LEVEL`.
package enum LoggingSetup {
    /// Bootstraps swift-log once. Call first thing in `main`; never from libraries or tests.
    package static func bootstrap(label: String, level: String?) -> Logger {
        let environmentLevel = ProcessEnvironment.value("LOG_LEVEL")
        let resolved = Logger.Level(rawValue: (level ?? environmentLevel ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = resolved
            return handler
        }
        return Logger(label: label)
    }
}

/// Reads the process environment (the one place executables do).
package enum ProcessEnvironment {
    package static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
