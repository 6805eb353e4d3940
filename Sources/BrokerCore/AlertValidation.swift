import BrokerPubSub
package import SanlianRPC
package import SanlianWire

/// The most an alert's fields may hold. The limits keep every accepted alert (and the aggregate,
/// escalation and ledger event that carry it) far inside a frame, so that reading it back never
/// fails for its size; `docs/PROTOCOL.md` and `proto/alert.proto` list them.
package enum AlertLimits {
    package static let identifierBytes = 128
    package static let eventBytes = 64
    package static let headlineCharacters = 200
    package static let descriptionCharacters = 4000
    package static let instructionCharacters = 1000
    package static let fingerprintBytes = 256
    package static let references = 16
    package static let referenceBytes = 128
    package static let parameters = 32
    package static let parameterKeyBytes = 64
    package static let parameterValueCharacters = 256
    package static let villageGroupCharacters = 64
    package static let placeDescriptionCharacters = 200
    /// The whole alert, encoded: a last bound whatever the characters' sizes (a CJK character is
    /// 3 bytes of UTF-8, an emoji 4). An event carrying it stays under 40 KiB.
    package static let encodedBytes = 32 * 1024
}

/// Checks a published alert field by field; every error names the field.
package enum AlertValidation {
    /// The alert as the ledger records it: checked, its sender stamped from the authenticated
    /// caller, its time set when the publisher left it out. The subject is checked against
    /// `mayPublish` before any other field, so that a caller learns nothing of a subject it may
    /// not publish on beyond that.
    /// - Throws: INVALID_ARGUMENT naming the field and what is wrong with it; PERMISSION_DENIED
    ///   when the department may not publish on the alert's subject.
    package static func validated(
        _ alert: AlertV1.Alert?,
        department: String,
        operatorID: String,
        now: Int64,
        mayPublish: (String) -> Bool = { _ in true }
    ) throws(RPCError) -> AlertV1.Alert {
        guard var alert else { throw RPCError(.invalidArgument, "alert: missing") }
        func invalid(_ field: String, _ problem: String) -> RPCError {
            RPCError(.invalidArgument, "alert.\(field): \(problem)")
        }
        do {
            try Subject.validate(alert.subject)
        } catch {
            throw invalid("subject", error.description)
        }
        guard mayPublish(alert.subject) else {
            throw RPCError(.permissionDenied, "department \(department) may not publish alerts on \(alert.subject)")
        }
        guard !alert.identifier.isEmpty else { throw invalid("identifier", "must not be empty") }
        try checkBytes(alert.identifier, AlertLimits.identifierBytes, "identifier", invalid)
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
        try checkBytes(alert.event, AlertLimits.eventBytes, "event", invalid)
        guard alert.headline.contains(where: { !$0.isWhitespace }) else {
            throw invalid("headline", "must not be blank")
        }
        try checkCharacters(alert.headline, AlertLimits.headlineCharacters, "headline", invalid)
        try checkCharacters(alert.description, AlertLimits.descriptionCharacters, "description", invalid)
        try checkCharacters(alert.instruction, AlertLimits.instructionCharacters, "instruction", invalid)
        try checkBytes(alert.fingerprint, AlertLimits.fingerprintBytes, "fingerprint", invalid)
        guard alert.references.count <= AlertLimits.references else {
            throw invalid("references", "more than \(AlertLimits.references) entries")
        }
        for (index, reference) in alert.references.enumerated() {
            guard !reference.isEmpty else { throw invalid("references[\(index)]", "must not be empty") }
            try checkBytes(reference, AlertLimits.referenceBytes, "references[\(index)]", invalid)
        }
        guard alert.parameters.count <= AlertLimits.parameters else {
            throw invalid("parameters", "more than \(AlertLimits.parameters) entries")
        }
        for (index, parameter) in alert.parameters.enumerated() {
            guard !parameter.key.isEmpty else { throw invalid("parameters[\(index)].key", "must not be empty") }
            try checkBytes(parameter.key, AlertLimits.parameterKeyBytes, "parameters[\(index)].key", invalid)
            try checkCharacters(
                parameter.value,
                AlertLimits.parameterValueCharacters,
                "parameters[\(index)].value",
                invalid
            )
        }
        if let area = alert.area {
            let code = area.villageCode
            if !code.isEmpty, !CommonV1.Place.isVillageCode(code) {
                throw invalid(
                    "area.village_code",
                    "must be 12 digits (GB/T 2260 + township + village), got \"\(code)\""
                )
            }
            try checkCharacters(area.villageGroup, AlertLimits.villageGroupCharacters, "area.village_group", invalid)
            try checkCharacters(area.description, AlertLimits.placeDescriptionCharacters, "area.description", invalid)
            guard abs(Int64(area.latitudeMicro)) <= 90_000_000 else {
                throw invalid("area.latitude_micro", "must be within ±90 degrees (±90000000)")
            }
            guard abs(Int64(area.longitudeMicro)) <= 180_000_000 else {
                throw invalid("area.longitude_micro", "must be within ±180 degrees (±180000000)")
            }
        }
        guard alert.expiresUnixMs >= 0 else { throw invalid("expires_unix_ms", "must not be negative") }
        guard alert.sentUnixMs >= 0 else { throw invalid("sent_unix_ms", "must not be negative") }
        // The broker, not the publisher, says who sent it.
        alert.senderDepartment = department
        alert.senderOperator = operatorID
        if alert.sentUnixMs == 0 { alert.sentUnixMs = now }
        let size = encodedSizeBound(alert)
        guard size <= AlertLimits.encodedBytes else {
            throw RPCError(
                .invalidArgument,
                "alert: up to \(size) bytes encoded, over the limit of \(AlertLimits.encodedBytes) bytes; shorten the description, instruction or parameters"
            )
        }
        return alert
    }

    /// An upper bound of the alert's encoded size, from its strings' UTF-8 lengths (O(1) each for
    /// native strings) rather than encoding it: every field's tag and length prefix is counted at
    /// its largest, 5 bytes, and the scalars at 11 bytes each.
    package static func encodedSizeBound(_ alert: AlertV1.Alert) -> Int {
        var strings = [
            alert.identifier, alert.senderDepartment, alert.senderOperator, alert.subject, alert.event, alert.headline,
            alert.description, alert.instruction, alert.fingerprint,
        ].reduce(0) { $0 + 5 + $1.utf8.count }
        strings += alert.references.reduce(0) { $0 + 5 + $1.utf8.count }
        strings += alert.parameters.reduce(0) { $0 + 15 + $1.key.utf8.count + $1.value.utf8.count }
        if let area = alert.area {
            strings +=
                5 + 22 + [area.villageCode, area.villageGroup, area.description].reduce(0) { $0 + 5 + $1.utf8.count }
        }
        return strings + 8 * 11
    }

    private static func checkBytes(
        _ text: String,
        _ limit: Int,
        _ field: String,
        _ invalid: (String, String) -> RPCError
    ) throws(RPCError) {
        let count = text.utf8.count
        guard count <= limit else { throw invalid(field, "\(count) bytes, longer than \(limit)") }
    }

    private static func checkCharacters(
        _ text: String,
        _ limit: Int,
        _ field: String,
        _ invalid: (String, String) -> RPCError
    ) throws(RPCError) {
        // Bytes bound characters from above: only a long text is counted.
        guard text.utf8.count > limit else { return }
        let count = text.count
        guard count <= limit else { throw invalid(field, "\(count) characters, longer than \(limit)") }
    }
}
