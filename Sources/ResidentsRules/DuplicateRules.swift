/// What two records of people share that makes them look like one person.
package enum DuplicateRules {
    /// Why `a` and `b` look like the same person (nil: they do not): the same ID number with
    /// names that differ, or the same name and birth date with ID numbers one or two characters
    /// apart (a typo).
    package static func reason(
        _ a: (idNumber: String, name: String, birthDate: String),
        _ b: (idNumber: String, name: String, birthDate: String)
    ) -> String? {
        if a.idNumber == b.idNumber {
            guard a.name != b.name else { return nil }
            let distance = editDistance(Array(a.name), Array(b.name))
            return
                "same ID number, names differ by \(distance) character\(distance == 1 ? "" : "s") (\(a.name) / \(b.name))"
        }
        guard a.name == b.name, a.birthDate == b.birthDate else { return nil }
        let distance = editDistance(Array(a.idNumber), Array(b.idNumber))
        guard distance <= 2 else { return nil }
        return "same name and birth date, ID numbers differ by \(distance) character\(distance == 1 ? "" : "s")"
    }

    /// Levenshtein distance.
    package static func editDistance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// 迁户口: requested → documents complete → approved → done, or rejected.
package enum TransferRules {
    package enum State: Int32, Sendable, Equatable, CaseIterable {
        case requested = 1, documentsComplete, approved, done, rejected

        package var name: String {
            switch self {
            case .requested: "requested"
            case .documentsComplete: "documents_complete"
            case .approved: "approved"
            case .done: "done"
            case .rejected: "rejected"
            }
        }

        /// Whether the person's record stays locked.
        package var pending: Bool { self == .requested || self == .documentsComplete || self == .approved }
    }

    package enum Step: Sendable, Equatable {
        /// Documents received; `complete` when every one on the checklist is.
        case documents(complete: Bool)
        case approve
        case reject
        case complete
    }

    /// The state `step` leads to from `state`.
    /// - Throws: a message for FAILED_PRECONDITION naming the state.
    package static func apply(_ step: Step, to state: State) throws(PersonError) -> State {
        switch (step, state) {
        case (.documents(let complete), .requested), (.documents(let complete), .documentsComplete):
            return complete ? .documentsComplete : .requested
        case (.approve, .documentsComplete): return .approved
        case (.reject, .requested), (.reject, .documentsComplete): return .rejected
        case (.complete, .approved): return .done
        default:
            let what: String =
                switch step {
                case .documents: "given documents (it is decided)"
                case .approve: "approved (its documents are not complete)"
                case .reject: "rejected (it is decided)"
                case .complete: "completed (it is not approved)"
                }
            throw PersonError("state", "a transfer that is \(state.name) cannot be \(what)")
        }
    }
}
