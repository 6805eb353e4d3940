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
