import BrokerPubSub
import SanlianRPC
import SanlianWire

/// Checks a published alert field by field; every error names the field.
enum AlertValidation {
    static func validated(
        _ alert: AlertV1.Alert?,
        department: String,
        operatorID: String,
        now: Int64
    ) throws(RPCError) -> AlertV1.Alert {
        guard var alert else { throw RPCError(.invalidArgument, "alert: missing") }
        func invalid(_ field: String, _ problem: String) -> RPCError {
            RPCError(.invalidArgument, "alert.\(field): \(problem)")
        }
        guard !alert.identifier.isEmpty else { throw invalid("identifier", "must not be empty") }
        guard alert.identifier.utf8.count <= 128 else { throw invalid("identifier", "longer than 128 bytes") }
        do {
            try Subject.validate(alert.subject)
        } catch {
            throw invalid("subject", error.description)
        }
        switch alert.status {
        case .actual, .exercise, .test: break
        default: throw invalid("status", "must be ACTUAL, EXERCISE or TEST (got \(alert.status.protoName))")
        }
        switch alert.msgType {
        case .alert, .update, .cancel: break
        case .unspecified: alert.msgType = .alert
        default: throw invalid("msg_type", "unknown value \(alert.msgType.rawValue)")
        }
        if case .unrecognized(let value) = alert.category { throw invalid("category", "unknown value \(value)") }
        if case .unrecognized(let value) = alert.urgency { throw invalid("urgency", "unknown value \(value)") }
        if case .unrecognized(let value) = alert.severity { throw invalid("severity", "unknown value \(value)") }
        if case .unrecognized(let value) = alert.certainty { throw invalid("certainty", "unknown value \(value)") }
        guard alert.headline.count <= 200 else { throw invalid("headline", "longer than 200 characters") }
        guard alert.description.count <= 4000 else { throw invalid("description", "longer than 4000 characters") }
        guard alert.fingerprint.utf8.count <= 256 else { throw invalid("fingerprint", "longer than 256 bytes") }
        guard alert.references.count <= 64 else { throw invalid("references", "more than 64 entries") }
        if let code = alert.area?.villageCode, !code.isEmpty,
            !(code.count == 12 && code.allSatisfy(\.isASCII) && code.allSatisfy(\.isNumber))
        {
            throw invalid("area.village_code", "must be 12 digits (GB/T 2260 + township + village), got \"\(code)\"")
        }
        guard alert.expiresUnixMs >= 0 else { throw invalid("expires_unix_ms", "must not be negative") }
        // The broker, not the publisher, says who sent it.
        alert.senderDepartment = department
        alert.senderOperator = operatorID
        if alert.sentUnixMs <= 0 { alert.sentUnixMs = now }
        return alert
    }
}
