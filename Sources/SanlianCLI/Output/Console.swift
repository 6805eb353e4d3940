import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where a command's output goes: standard output and standard error, or, in the tests that run
/// commands in-process, buffers. Commands write through `Console.current` only.
package final class Console: Sendable {
    /// The console of the command running in this task.
    @TaskLocal package static var current = Console.standard

    /// Standard output and standard error of the process.
    package static let standard = Console(capturing: false)

    private let capturing: Bool
    private let captured = Mutex<(output: String, error: String)>(("", ""))

    private init(capturing: Bool) {
        self.capturing = capturing
    }

    /// A console that keeps what is written, for `output` and `errorOutput`.
    package static func capturing() -> Console { Console(capturing: true) }

    /// What was written to the output so far (a capturing console's).
    package var output: String { captured.withLock { $0.output } }
    /// What was written to the error output so far (a capturing console's).
    package var errorOutput: String { captured.withLock { $0.error } }

    /// Whether the output is a terminal, where colour and progress lines belong.
    package var isTerminal: Bool { !capturing && isatty(STDOUT_FILENO) == 1 }

    /// Writes `text` and a newline to the output.
    package func line(_ text: String = "") {
        if capturing {
            captured.withLock { $0.output += text + "\n" }
        } else {
            write(STDOUT_FILENO, text + "\n")
        }
    }

    /// Shows how far long work has come on the error output: one line rewritten in place on a
    /// terminal, a line each otherwise.
    package func progress(_ text: String) {
        if capturing {
            captured.withLock { $0.error += text + "\n" }
        } else if isatty(STDERR_FILENO) == 1 {
            _ = write(STDERR_FILENO, "\r\u{1B}[K" + text)
        } else {
            _ = write(STDERR_FILENO, text + "\n")
        }
    }

    /// Clears the progress line (on a terminal) once the work is done.
    package func progressDone() {
        if !capturing && isatty(STDERR_FILENO) == 1 { _ = write(STDERR_FILENO, "\r\u{1B}[K") }
    }

    /// Writes each of `lines` and a newline to the output.
    package func lines(_ lines: [String]) {
        for text in lines { line(text) }
    }

    /// Writes `text` and a newline to the error output (notes, progress and warnings).
    package func note(_ text: String) {
        if capturing {
            captured.withLock { $0.error += text + "\n" }
        } else {
            write(STDERR_FILENO, text + "\n")
        }
    }

    /// Writes `text` and a newline to the output, and says whether it went out: the live feed
    /// acknowledges an event only once its line has been written.
    /// - Throws: `CLIError` when standard output no longer takes it.
    package func emit(_ text: String) throws {
        if capturing {
            line(text)
            return
        }
        guard write(STDOUT_FILENO, text + "\n") else {
            throw CLIError("cannot write to standard output: \(String(cString: strerror(errno)))")
        }
    }

    /// Writes all of `text`; false when the descriptor refused it.
    @discardableResult
    private func write(_ descriptor: Int32, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return false }
                offset += written
            }
            return true
        }
    }
}

/// A failure shown to the user as one line on standard error, exit status 1.
package struct CLIError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
