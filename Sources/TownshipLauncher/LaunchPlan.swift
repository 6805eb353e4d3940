import Foundation
package import SanlianCompose

/// What `sanlian up` starts for a compose file, in order: the broker, then each service after
/// those it names in `after:`. They stop in the reverse order.
package struct LaunchPlan: Sendable, Equatable {
    /// One process of the township: an executable of this package named as the compose file
    /// names it.
    package struct Process: Sendable, Equatable {
        package var name: String
        package var executable: String
        package var arguments: [String]
        /// The department it runs as; nil for the broker.
        package var department: String?

        /// Where its standard output and error go.
        package func logPath(in plan: LaunchPlan) -> String { plan.logDirectory + "/\(name).log" }
    }

    package var composePath: String
    package var stateDirectory: String
    package var processes: [Process]

    package var runDirectory: String { stateDirectory + "/run" }
    package var dataDirectory: String { stateDirectory + "/data" }
    package var logDirectory: String { stateDirectory + "/log" }
    package var brokerSocket: String

    /// - Parameters:
    ///   - composePath: the compose file, as the processes are to read it (made absolute).
    ///   - stateDirectory: DIR (made absolute).
    ///   - binDirectory: where the executables are.
    package init(compose: ComposeFile, composePath: String, stateDirectory: String, binDirectory: String) {
        let composePath = Self.absolute(composePath)
        let stateDirectory = Self.absolute(stateDirectory)
        self.composePath = composePath
        self.stateDirectory = stateDirectory
        self.brokerSocket = ComposeFile.resolve(compose.broker.socket, stateDirectory: stateDirectory)
        // Each process exits when the launcher's end of its standard input closes: when the
        // launcher dies, even by SIGKILL, nothing it started outlives it.
        let common = ["--compose", composePath, "--state-dir", stateDirectory, "--exit-when-stdin-closes"]
        processes =
            [Process(name: "sanlian-broker", executable: binDirectory + "/sanlian-broker", arguments: common)]
            + compose.serviceStartOrder.map {
                Process(
                    name: $0.name,
                    executable: binDirectory + "/" + $0.name,
                    arguments: common,
                    department: $0.department
                )
            }
    }

    static func absolute(_ path: String) -> String {
        let url =
            path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }
}
