package import SanlianWire

/// The gRPC status codes, with gRPC's numbers (generated from `proto/rpc.proto`).
package typealias StatusCode = RPCV1.StatusCode

/// The one error model on the wire: a status code and a message that names the problem.
///
/// Handlers throw `RPCError` (or an error conforming to `RPCErrorConvertible`); anything else a
/// handler throws goes out as INTERNAL with a generic message, and is logged, never leaked.
package struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    package var code: StatusCode
    package var message: String
    /// Trailing metadata sent with the error.
    package var metadata: Metadata

    package init(_ code: StatusCode, _ message: String, metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    package var description: String { "\(code.protoName): \(message)" }

    package init(status: RPCV1.Status, metadata: Metadata = Metadata()) {
        self.init(status.code, status.message, metadata: metadata)
    }

    package var status: RPCV1.Status { RPCV1.Status(code: code, message: message) }

    package static func unavailable(_ message: String) -> Self { RPCError(.unavailable, message) }
    package static func invalidArgument(_ message: String) -> Self { RPCError(.invalidArgument, message) }
    package static func deadlineExceeded(_ message: String) -> Self { RPCError(.deadlineExceeded, message) }
    package static func cancelled(_ message: String) -> Self { RPCError(.cancelled, message) }
    package static func internalError(_ message: String = "internal error") -> Self { RPCError(.internal, message) }
    package static func unimplemented(_ message: String) -> Self { RPCError(.unimplemented, message) }
    package static func unauthenticated(_ message: String) -> Self { RPCError(.unauthenticated, message) }
    package static func permissionDenied(_ message: String) -> Self { RPCError(.permissionDenied, message) }
    package static func notFound(_ message: String) -> Self { RPCError(.notFound, message) }
    package static func failedPrecondition(_ message: String) -> Self { RPCError(.failedPrecondition, message) }
    package static func resourceExhausted(_ message: String) -> Self { RPCError(.resourceExhausted, message) }
}

/// A domain error that knows which status it goes out as. Departments' error enums conform to it.
package protocol RPCErrorConvertible: Error {
    var rpcErrorCode: StatusCode { get }
    var rpcErrorMessage: String { get }
}

extension RPCError {
    /// What goes on the wire for any error a handler throws: `RPCError` as it is, convertible
    /// errors as they say, wire errors as INVALID_ARGUMENT, and everything else as a bare INTERNAL.
    package init(handlerError error: any Error) {
        switch error {
        case let error as RPCError:
            self = error
        case let error as any RPCErrorConvertible:
            self.init(error.rpcErrorCode, error.rpcErrorMessage)
        case let error as WireError:
            self.init(.invalidArgument, error.message)
        case is CancellationError:
            self.init(.cancelled, "the call was cancelled")
        default:
            self = .internalError()
        }
    }
}
