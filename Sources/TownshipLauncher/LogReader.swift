import Foundation

/// Reads a log file as it grows: whole lines only, from where it left off.
package struct LogReader {
    package let name: String
    package let path: String
    private var offset: UInt64 = 0
    private var partial = Data()

    package init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    /// The lines written since the last call.
    package mutating func newLines() -> [Substring] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        if size < offset { offset = 0 }  // Truncated or replaced: from the start again.
        guard size > offset else { return [] }
        try? handle.seek(toOffset: offset)
        var data = partial + ((try? handle.readToEnd()) ?? Data())
        offset = size
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else {
            partial = data
            return []
        }
        partial = data[(lastNewline + 1)...]
        data = data[..<lastNewline]
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The timestamp a swift-log line begins with ("2026-12-06T12:16:39+0000"), or "".
    package static func stamp(_ line: Substring) -> Substring {
        guard line.count >= 19, line.first?.isNumber == true, let space = line.firstIndex(of: " ") else { return "" }
        return line[..<space]
    }

    /// The lines of several logs in the order of their timestamps; a line without one (a
    /// message's continuation) stays after the line before it.
    package static func merged(_ logs: [(name: String, lines: [Substring])]) -> [(name: String, text: Substring)] {
        var stamped: [(stamp: Substring, order: Int, name: String, text: Substring)] = []
        for log in logs {
            var last: Substring = ""
            for line in log.lines {
                let stamp = Self.stamp(line)
                if !stamp.isEmpty { last = stamp }
                stamped.append((last, stamped.count, log.name, line))
            }
        }
        return stamped.sorted { ($0.stamp, $0.order) < ($1.stamp, $1.order) }.map { ($0.name, $0.text) }
    }
}
