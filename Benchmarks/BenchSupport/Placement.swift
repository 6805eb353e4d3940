package import Foundation

/// Where the processes of a sequential measurement run, held fixed with `taskset` (util-linux).
///
/// On a machine whose idle CPUs sleep, an unpinned sequential run settles with its three
/// processes together on one CPU or apart, and a wake-up onto a sleeping CPU costs more than
/// the work of a hop (docs/PERFORMANCE.md, "Measuring"). Pinning both sides alike
/// measures what each side's code costs under one placement, run after run; the targets are
/// still judged on the unpinned runs.
package struct Placement {
    /// The key of the layout in the JSON.
    package var key: String
    /// What the report calls it.
    package var title: String
    /// The CPU of the load generator.
    package var clientCPU: Int
    /// The CPU of the relay or broker and of the echo server or service.
    package var daemonsCPU: Int

    /// The layouts the allowed CPUs permit: all three processes on one CPU, and (with two CPUs or
    /// more) the client on one and the rest on another — the two arrangements unpinned runs settle in.
    package static func layouts(allowed cpus: [Int]) -> [Placement] {
        guard let first = cpus.first else { return [] }
        var layouts = [
            Placement(key: "one_cpu", title: "all three on CPU \(first)", clientCPU: first, daemonsCPU: first)
        ]
        if cpus.count > 1 {
            layouts.append(
                Placement(
                    key: "client_apart",
                    title: "client on CPU \(first), the rest on CPU \(cpus[1])",
                    clientCPU: first,
                    daemonsCPU: cpus[1]
                )
            )
        }
        return layouts
    }
}

package enum CPUAffinity {
    package static let taskset = "/usr/bin/taskset"

    /// The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status, "0-3,6").
    package static func allowed() -> [Int] {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
            let list = line.split(separator: ":").last
        else { return [] }
        return parseList(list.trimmingCharacters(in: .whitespaces))
    }

    /// Parses a CPU list as the kernel prints it: ranges and single CPUs separated by commas.
    package static func parseList(_ list: String) -> [Int] {
        list.split(separator: ",").flatMap { part -> [Int] in
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            switch bounds.count {
            case 1: return bounds
            case 2 where bounds[0] <= bounds[1]: return Array(bounds[0]...bounds[1])
            default: return []
            }
        }
    }

    /// Restricts every thread of `pid` to `cpus` (threads it starts later inherit the mask of the
    /// thread that starts them).
    package static func pin(_ pid: Int32, to cpus: [Int]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: taskset)
        process.arguments = [
            "--all-tasks", "--pid", "--cpu-list", cpus.map(String.init).joined(separator: ","), String(pid),
        ]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("taskset could not pin process \(pid): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
