package import AlertLedger
import BrokerPubSub
package import SanlianRPC
package import SanlianWire

/// What the broker's own requests may hold, besides alerts (`AlertLimits`): each limit keeps one
/// request's effect (a registration listed, a message delivered, an acknowledgement applied)
/// small and within a frame. `docs/PROTOCOL.md` §10 lists them.
package enum RequestLimits {
    package static let servicesPerRegistration = 64
    package static let methodsPerService = 256
    package static let nameBytes = 128
    package static let publishPayloadBytes = 256 * 1024
    package static let publishHeaders = 32
    package static let headerKeyBytes = 64
    package static let headerValueBytes = 1024
    package static let sequencesPerRequest = 10_000
    package static let noteCharacters = 500
}

/// Checks of the broker's own requests; every error names the field.
package enum RequestRules {
    /// - Throws: INVALID_ARGUMENT naming the first field at fault.
    package static func checkRegistration(_ request: BrokerV1.RegisterRequest) throws(RPCError) {
        guard !request.services.isEmpty else { throw RPCError(.invalidArgument, "services: name at least one service") }
        guard request.services.count <= RequestLimits.servicesPerRegistration else {
            throw RPCError(.invalidArgument, "services: more than \(RequestLimits.servicesPerRegistration)")
        }
        try checkBytes(request.instance, RequestLimits.nameBytes, "instance")
        for (index, service) in request.services.enumerated() {
            let field = "services[\(index)]"
            guard !service.name.isEmpty, !service.name.contains("/"), !service.name.contains(where: \.isWhitespace)
            else {
                throw RPCError(.invalidArgument, "\(field).name: \"\(service.name)\" is not a service name")
            }
            try checkBytes(service.name, RequestLimits.nameBytes, "\(field).name")
            guard service.methods.count <= RequestLimits.methodsPerService else {
                throw RPCError(.invalidArgument, "\(field).methods: more than \(RequestLimits.methodsPerService)")
            }
            for (methodIndex, method) in service.methods.enumerated() {
                guard !method.name.isEmpty, !method.name.contains("/") else {
                    throw RPCError(
                        .invalidArgument,
                        "\(field).methods[\(methodIndex)].name: \"\(method.name)\" is not a method name"
                    )
                }
                try checkBytes(method.name, RequestLimits.nameBytes, "\(field).methods[\(methodIndex)].name")
            }
        }
    }

    /// - Throws: INVALID_ARGUMENT naming the field at fault.
    package static func checkPublish(_ request: BrokerV1.PublishRequest) throws(RPCError) {
        do {
            try Subject.validate(request.subject)
        } catch {
            throw RPCError(.invalidArgument, "subject: \(error.description)")
        }
        guard request.payload.count <= RequestLimits.publishPayloadBytes else {
            throw RPCError(
                .invalidArgument,
                "payload: \(request.payload.count) bytes, over the limit of \(RequestLimits.publishPayloadBytes)"
            )
        }
        guard request.headers.count <= RequestLimits.publishHeaders else {
            throw RPCError(.invalidArgument, "headers: more than \(RequestLimits.publishHeaders)")
        }
        for (index, header) in request.headers.enumerated() {
            guard !header.key.isEmpty else {
                throw RPCError(.invalidArgument, "headers[\(index)].key: must not be empty")
            }
            try checkBytes(header.key, RequestLimits.headerKeyBytes, "headers[\(index)].key")
            try checkBytes(header.value, RequestLimits.headerValueBytes, "headers[\(index)].value")
        }
    }

    /// - Throws: INVALID_ARGUMENT when `sequences` (the field `field`) is too long.
    package static func checkSequences(_ sequences: [UInt64], field: String = "sequences") throws(RPCError) {
        guard sequences.count <= RequestLimits.sequencesPerRequest else {
            throw RPCError(.invalidArgument, "\(field): more than \(RequestLimits.sequencesPerRequest) in one request")
        }
    }

    /// - Throws: INVALID_ARGUMENT naming the entry at fault.
    package static func checkStatusReport(_ request: BrokerV1.ReportStatusRequest) throws(RPCError) {
        guard request.detail.count <= 32 else { throw RPCError(.invalidArgument, "detail: more than 32 entries") }
        for (index, entry) in request.detail.enumerated() {
            guard !entry.key.isEmpty else {
                throw RPCError(.invalidArgument, "detail[\(index)].key: must not be empty")
            }
            try checkBytes(entry.key, 64, "detail[\(index)].key")
            try checkBytes(entry.value, 256, "detail[\(index)].value")
        }
    }

    /// - Throws: INVALID_ARGUMENT naming `fingerprint` or `note`.
    package static func checkAggregateAction(_ request: BrokerV1.AggregateActionRequest) throws(RPCError) {
        guard !request.fingerprint.isEmpty else { throw RPCError(.invalidArgument, "fingerprint: must not be empty") }
        try checkBytes(request.fingerprint, AlertLimits.fingerprintBytes + 6, "fingerprint")
        if request.note.utf8.count > RequestLimits.noteCharacters, request.note.count > RequestLimits.noteCharacters {
            throw RPCError(.invalidArgument, "note: longer than \(RequestLimits.noteCharacters) characters")
        }
    }

    static func checkBytes(_ text: String, _ limit: Int, _ field: String) throws(RPCError) {
        let count = text.utf8.count
        guard count <= limit else { throw RPCError(.invalidArgument, "\(field): \(count) bytes, longer than \(limit)") }
    }
}

/// What a durable subscription may ask: its name, where it starts, how it delivers.
package enum SubscriptionRules {
    /// - Throws: INVALID_ARGUMENT unless `name` is 1-64 ASCII letters, digits, '.', '_' or '-',
    ///   starting with a letter or digit. Checked by hand: a Foundation regular expression
    ///   brought ICU's regex engine into the serving broker's memory at the first subscription.
    package static func checkName(_ name: String) throws(RPCError) {
        let bytes = name.utf8
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        guard (1...64).contains(bytes.count), let first = bytes.first, isAlphanumeric(first),
            bytes.allSatisfy({
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else {
            throw RPCError(.invalidArgument, "name: \"\(name)\" must be 1-64 letters, digits, '.', '_' or '-'")
        }
    }

    /// Where the subscription starts: resuming (also for `resume = false`), from a sequence, or from a time.
    package static func start(_ position: BrokerV1.StartPosition?) -> SubscriptionStart {
        switch position?.position {
        case .fromSequence(let sequence)?: .sequence(sequence)
        case .fromUnixMs(let unixMs)?: .time(unixMs: unixMs)
        case .resume?, nil: .resume
        }
    }

    /// The subscription's delivery settings: what it asks, within the broker's bounds (4,096 in
    /// flight, an hour's ack timeout, 100 deliveries), `defaults` for what it leaves at 0.
    package static func settings(_ request: BrokerV1.SubscribeLedgerRequest, defaults: DeliverySettings)
        -> DeliverySettings
    {
        var settings = defaults
        if request.maxInFlight > 0 { settings.maxInFlight = Int(min(request.maxInFlight, 4096)) }
        if request.ackTimeoutSeconds > 0 { settings.ackTimeout = .seconds(Int64(min(request.ackTimeoutSeconds, 3600))) }
        if request.maxDeliveries > 0 { settings.maxDeliveries = min(request.maxDeliveries, 100) }
        return settings
    }
}
