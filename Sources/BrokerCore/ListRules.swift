package import AlertLedger
package import SanlianRPC
package import SanlianWire

/// What a ReadLedger call may ask: the number of events (0 means 100, at most 1000).
package enum LedgerReading {
    package static let defaultLimit = 100
    package static let maximumLimit = 1000

    package static func limit(_ requested: UInt32) -> Int {
        pageSize(requested, default: defaultLimit, maximum: maximumLimit)
    }
}

/// The command room's list of aggregates: its filters, checked, and its page tokens.
package enum AggregatePaging {
    /// The filters of `request`, each value checked.
    /// - Throws: INVALID_ARGUMENT naming the filter.
    package static func filter(_ request: BrokerV1.ListAggregatesRequest) throws(RPCError) -> AggregateFilter {
        for state in request.states where AlertV1.AggregateState.knownCases.contains(state) == false {
            throw RPCError(.invalidArgument, "states: unknown value \(state.rawValue)")
        }
        for severity in request.severities where AlertV1.Severity.knownCases.contains(severity) == false {
            throw RPCError(.invalidArgument, "severities: unknown value \(severity.rawValue)")
        }
        for (index, code) in request.villageCodes.enumerated()
        where !CommonV1.Place.isVillageCode(code) {
            throw RPCError(.invalidArgument, "village_codes[\(index)]: must be 12 digits, got \"\(code)\"")
        }
        guard
            request.states.count + request.severities.count + request.departments.count + request.villageCodes.count
                <= 100
        else { throw RPCError(.invalidArgument, "filters: at most 100 values in all") }
        return AggregateFilter(
            states: request.states,
            severities: request.severities,
            departments: request.departments,
            villageCodes: request.villageCodes
        )
    }

    /// The page token naming `cursor`, the last aggregate of a page.
    package static func token(_ cursor: AggregateCursor) -> String {
        PageToken.make(
            "ag1",
            [
                String(cursor.state), String(cursor.severityRank), String(cursor.escalationLevel),
                String(cursor.lastSeenMs), cursor.key,
            ]
        )
    }

    /// Where the page `token` asks for starts; nil for the first page ("").
    /// - Throws: INVALID_ARGUMENT when it is not a token of this list.
    package static func cursor(_ token: String) throws(RPCError) -> AggregateCursor? {
        guard !token.isEmpty else { return nil }
        let fields = try PageToken.read(token, "ag1", count: 5)
        guard let state = Int64(fields[0]), let severity = Int64(fields[1]), let level = Int64(fields[2]),
            let lastSeen = Int64(fields[3])
        else { throw RPCError(.invalidArgument, "page.page_token: not a token this list gave") }
        return AggregateCursor(
            state: state,
            severityRank: severity,
            escalationLevel: level,
            lastSeenMs: lastSeen,
            key: fields[4]
        )
    }
}
