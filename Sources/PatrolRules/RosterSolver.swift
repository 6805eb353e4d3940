import SanlianClock

/// A roster the solver produced, with its score.
package struct RosterSolution: Sendable {
    package var assignments: [SolvedAssignment]
    package var unfilled: [UnfilledShift]
    package var score: RosterScore

    package var roster: [RosterAssignment] { assignments.map(\.assignment) }
}

package struct SolvedAssignment: Sendable, Equatable {
    package enum Origin: Sendable, Equatable {
        /// Fixed before the solve (locked, confirmed, done or past).
        case fixed
        /// From an earlier solve, still allowed.
        case kept
        /// Made by this solve.
        case added
    }

    package var assignment: RosterAssignment
    package var origin: Origin
}

/// A shift with places the solver could not fill, and why.
package struct UnfilledShift: Sendable, Equatable {
    package var shift: ShiftKey
    package var areaID: String
    package var missing: Int
    package var reason: String
}

/// How good a roster is (`patrol.v1.RosterScore`).
package struct RosterScore: Sendable, Equatable {
    package var hardViolations = 0
    package var unfilledShifts = 0
    package var unfilledPlaces = 0
    package var fairnessSpread = 0
    package var preferencesMet = 0
    package var preferencesStated = 0
    package var assignments = 0
    package var kept = 0
    package var changed = 0
    package var added = 0
    package var areaCoverageMinPercent = 100
    package var areaCoverageMaxPercent = 100
}

/// Fixed assignments that cannot all be kept under the hard rules: the coordinator must unlock
/// or change one of them first.
package struct RosterConflict: Error, Sendable, Equatable, CustomStringConvertible {
    package var problems: [String]
    package var description: String { problems.joined(separator: "; ") }
}

/// Solves a roster: every fixed assignment kept, earlier assignments kept where the rules still
/// allow them, and the remaining places filled under the hard rules (availability and time off,
/// no overlaps, the minimum rest, the weekly limit, nobody alone at night, a veteran on every
/// night shift, required skills), aiming at an even share of shifts among volunteers who could
/// take as many, stated preferences, and areas covered alike. Deterministic: the same problem and
/// seed give the same roster (no decision depends on hashing order).
///
/// How: the places a shift's rules need (a veteran at night, each required skill) are filled
/// first over the whole period, in order of time (shifts starting together the least covered area
/// first), then the other places; each time by the volunteer with the fewest shifts so far who
/// may take it, preferring one who prefers the area or shift, ties broken by the seed. A shift whose rules cannot be met is left empty rather than
/// sent out short. Then shifts are moved from the volunteers with the most to those with the
/// fewest among volunteers who could take as many, while that narrows the spread.
package struct RosterSolver {
    let problem: RosterProblem
    let shifts: [Shift]
    let volunteers: [RosterVolunteer]
    let shiftIndex: [ShiftKey: Int]
    let volunteerIndex: [String: Int]
    /// Per shift, the volunteers (indices, ascending) whose availability and time off allow it.
    let eligible: [[Int]]
    let eligibleSets: [Set<Int>]
    let weekOf: [Int]
    let volunteerHash: [UInt64]
    let restMilliseconds: Int64

    var members: [[Int]]
    var shiftsOf: [[Int]]
    var weekCounts: [[Int: Int]]
    var origin: [Int: SolvedAssignment.Origin] = [:]
    /// Shifts left empty because their rules could not be met: not filled again.
    var closed: Set<Int> = []

    package init(_ problem: RosterProblem) {
        self.problem = problem
        shifts = problem.shifts
        volunteers = problem.volunteers.sorted { $0.id < $1.id }
        var shiftIndex: [ShiftKey: Int] = [:]
        for (index, shift) in shifts.enumerated() { shiftIndex[shift.key] = index }
        self.shiftIndex = shiftIndex
        var volunteerIndex: [String: Int] = [:]
        for (index, volunteer) in volunteers.enumerated() { volunteerIndex[volunteer.id] = index }
        self.volunteerIndex = volunteerIndex
        let volunteers = volunteers
        eligible = shifts.map { shift in
            volunteers.indices.filter { volunteers[$0].isAvailable(from: shift.startMs, to: shift.endMs) }
        }
        eligibleSets = eligible.map(Set.init)
        weekOf = shifts.map { $0.day.weekStart.ordinal }
        volunteerHash = volunteers.map { Self.fnv1a($0.id) }
        restMilliseconds = Int64(problem.limits.minRestMinutes) * 60_000
        members = Array(repeating: [], count: shifts.count)
        shiftsOf = Array(repeating: [], count: volunteers.count)
        weekCounts = Array(repeating: [:], count: volunteers.count)
    }

    /// - Throws: `RosterConflict` when the fixed assignments break a hard rule among themselves
    ///   or leave a shift that nobody else can make rule-abiding.
    package static func solve(_ problem: RosterProblem) throws(RosterConflict) -> RosterSolution {
        var solver = RosterSolver(problem)
        return try solver.run()
    }

    private mutating func run() throws(RosterConflict) -> RosterSolution {
        var problems: [String] = []
        var movable: [(shift: Int, volunteer: Int)] = []
        // Fixed first, in order of time, then earlier assignments where they still fit.
        let existing = problem.existing.sorted {
            ($0.assignment.shift, $0.assignment.volunteerID) < ($1.assignment.shift, $1.assignment.volunteerID)
        }
        for entry in existing {
            guard let s = shiftIndex[entry.assignment.shift] else {
                if entry.standing == .fixed {
                    problems.append(
                        "\(entry.assignment.volunteerID) on \(entry.assignment.shift): the shift does not exist"
                    )
                }
                continue
            }
            guard let v = volunteerIndex[entry.assignment.volunteerID] else {
                if entry.standing == .fixed {
                    problems.append("\(entry.assignment.volunteerID) on \(entry.assignment.shift): no such volunteer")
                }
                continue
            }
            guard entry.standing == .fixed else {
                movable.append((s, v))
                continue
            }
            if let broken = whyNot(v, s, checkAvailability: true) {
                problems.append("locked \(volunteers[v].id) on \(shifts[s].key): \(broken)")
                continue
            }
            place(v, s, as: .fixed)
        }
        guard problems.isEmpty else { throw RosterConflict(problems: problems) }
        var changed = 0
        for (s, v) in movable {
            if members[s].count < shifts[s].peopleNeeded, whyNot(v, s, checkAvailability: true) == nil {
                place(v, s, as: .kept)
            } else {
                changed += 1
            }
        }

        // Two passes: the volunteers that emptying a shift frees (it could not meet its rules) can
        // fill other shifts on the second.
        for _ in 0..<2 {
            fillRequirements()
            fillPlaces()
            try closeShiftsBreakingRules()
        }
        balance()
        return finish(changed: changed)
    }

    // MARK: - Filling

    private mutating func fillRequirements() {
        forEachShiftInOrder { solver, s in
            while solver.members[s].count < solver.shifts[s].peopleNeeded {
                let unmet = solver.unmetRequirements(s)
                guard !unmet.isEmpty else { break }
                let best = solver.bestCandidate(for: s) { v in unmet.filter { solver.has(v, $0) }.count }
                guard let best else { break }
                solver.place(best, s, as: .added)
            }
        }
    }

    private mutating func fillPlaces() {
        forEachShiftInOrder { solver, s in
            while solver.members[s].count < solver.shifts[s].peopleNeeded {
                guard let best = solver.bestCandidate(for: s, covering: { _ in 1 }) else { break }
                solver.place(best, s, as: .added)
            }
        }
    }

    /// Empties shifts whose rules are not met (a patrol never goes out short of them).
    private mutating func closeShiftsBreakingRules() throws(RosterConflict) {
        var problems: [String] = []
        for s in shifts.indices where !members[s].isEmpty && !closed.contains(s) {
            guard let broken = brokenRule(s) else { continue }
            let fixed = members[s].filter { origin[key(s, $0)] == .fixed }
            if !fixed.isEmpty {
                let names = fixed.map { volunteers[$0].id }.joined(separator: ", ")
                problems.append("locked \(names) on \(shifts[s].key): \(broken), and nobody else can join")
                continue
            }
            for v in members[s] { remove(v, s) }
            closed.insert(s)
        }
        guard problems.isEmpty else { throw RosterConflict(problems: problems) }
    }

    /// Runs `body` on every open shift in order of start. Shifts starting together go in order of
    /// how well their areas have been covered so far, the least first (then by the seed), so that
    /// when volunteers run short every area goes short alike.
    private mutating func forEachShiftInOrder(_ body: (inout RosterSolver, Int) -> Void) {
        var filled: [String: Int] = [:]
        var needed: [String: Int] = [:]
        var index = 0
        while index < shifts.count {
            var end = index
            while end < shifts.count && shifts[end].startMs == shifts[index].startMs { end += 1 }
            let group = (index..<end).sorted { a, b in
                let ca = coverage(filled[shifts[a].areaID], needed[shifts[a].areaID])
                let cb = coverage(filled[shifts[b].areaID], needed[shifts[b].areaID])
                if ca != cb { return ca < cb }
                return (rotation(a), shifts[a].templateID) < (rotation(b), shifts[b].templateID)
            }
            for s in group where !closed.contains(s) { body(&self, s) }
            for s in index..<end {
                filled[shifts[s].areaID, default: 0] += members[s].count
                needed[shifts[s].areaID, default: 0] += shifts[s].peopleNeeded
            }
            index = end
        }
    }

    /// Filled places per needed place, in parts per million (1 before anything is needed).
    private func coverage(_ filled: Int?, _ needed: Int?) -> Int {
        guard let needed, needed > 0 else { return 1_000_000 }
        return (filled ?? 0) * 1_000_000 / needed
    }

    /// A tie-break among shifts starting together that changes with the day and the seed.
    private func rotation(_ s: Int) -> UInt64 {
        Self.mix(problem.seed ^ Self.fnv1a(shifts[s].areaID) ^ UInt64(bitPattern: Int64(shifts[s].day.ordinal)))
    }

    /// The volunteer to put on shift `s`: among those who may take it and for whom `covering`
    /// is positive, the one covering most, then with the fewest shifts, then preferring it, then
    /// by the seed.
    private func bestCandidate(for s: Int, covering: (Int) -> Int) -> Int? {
        var best: (v: Int, key: (Int, Int, Int, UInt64))?
        for v in eligible[s] {
            let covers = covering(v)
            guard covers > 0, whyNot(v, s, checkAvailability: false) == nil else { continue }
            // Someone who prefers the shift first, then someone without preferences, then someone
            // who prefers other areas or shifts.
            let preference = volunteers[v].prefers(shifts[s]) ? 0 : volunteers[v].statesPreferences ? 2 : 1
            let key = (-covers, shiftsOf[v].count, preference, tieBreak(v, s))
            if best == nil || key < best!.key { best = (v, key) }
        }
        return best?.v
    }

    // MARK: - Balancing

    /// Moves shifts this solve made from volunteers with the most to volunteers with the fewest,
    /// among volunteers who could take as many shifts, until no such move narrows the spread.
    private mutating func balance() {
        let groups = fairnessGroups()
        for group in groups {
            var moves = 0
            while moves < 10_000 {
                let counts = group.map { shiftsOf[$0].count }
                guard let low = counts.min(), let high = counts.max(), high - low > 1 else { break }
                guard moveOne(in: group, low: low) else { break }
                moves += 1
            }
        }
    }

    private mutating func moveOne(in group: [Int], low: Int) -> Bool {
        let takers = group.filter { shiftsOf[$0].count == low }
        let givers = group.filter { shiftsOf[$0].count >= low + 2 }
            .sorted { (shiftsOf[$0].count, $1) > (shiftsOf[$1].count, $0) }
        for taker in takers {
            for giver in givers {
                for s in shiftsOf[giver].sorted() where origin[key(s, giver)] == .added {
                    guard eligibleSets[s].contains(taker), !members[s].contains(taker) else { continue }
                    remove(giver, s)
                    if whyNot(taker, s, checkAvailability: false) == nil {
                        place(taker, s, as: .added)
                        if brokenRule(s) == nil { return true }
                        remove(taker, s)
                    }
                    place(giver, s, as: .added)
                }
            }
        }
        return false
    }

    /// Active volunteers grouped by how many of the period's shifts they could take.
    private func fairnessGroups() -> [[Int]] {
        var eligibleCount = Array(repeating: 0, count: volunteers.count)
        for list in eligible { for v in list { eligibleCount[v] += 1 } }
        var groups: [Int: [Int]] = [:]
        for v in volunteers.indices where volunteers[v].active && eligibleCount[v] > 0 {
            groups[eligibleCount[v], default: []].append(v)
        }
        return groups.keys.sorted().map { groups[$0]! }
    }

    // MARK: - The rules

    enum Requirement: Equatable {
        case veteran
        case skill(String)

        var label: String {
            switch self {
            case .veteran: "veteran"
            case .skill(let skill): "volunteer with \(skill)"
            }
        }
    }

    private func requirements(_ s: Int) -> [Requirement] {
        (shifts[s].night ? [.veteran] : []) + shifts[s].requiredSkills.map { .skill($0) }
    }

    private func has(_ v: Int, _ requirement: Requirement) -> Bool {
        switch requirement {
        case .veteran: volunteers[v].isVeteran
        case .skill(let skill): volunteers[v].skills.contains(skill)
        }
    }

    private func unmetRequirements(_ s: Int) -> [Requirement] {
        requirements(s).filter { requirement in !members[s].contains { has($0, requirement) } }
    }

    /// The rule shift `s`, as staffed, breaks (nil: none).
    private func brokenRule(_ s: Int) -> String? {
        guard !members[s].isEmpty else { return nil }
        if let missing = unmetRequirements(s).first {
            return shifts[s].night && missing == .veteran ? "no veteran for a night shift" : "no \(missing.label)"
        }
        if shifts[s].night && members[s].count < 2 { return "a night shift needs two or more people" }
        return nil
    }

    /// Why volunteer `v` may not take shift `s` now (nil: they may).
    private func whyNot(_ v: Int, _ s: Int, checkAvailability: Bool) -> String? {
        if checkAvailability && !eligibleSets[s].contains(v) {
            return volunteers[v].active ? "not available (time off or outside their hours)" : "not active"
        }
        if members[s].contains(v) { return "already on the shift" }
        if weekCounts[v][weekOf[s], default: 0] >= problem.limits.maxShiftsPerWeek {
            return "at the weekly limit of \(problem.limits.maxShiftsPerWeek)"
        }
        let shift = shifts[s]
        for t in shiftsOf[v] {
            let other = shifts[t]
            if other.startMs < shift.endMs && shift.startMs < other.endMs { return "on \(other.key) at the same time" }
            if other.endMs + restMilliseconds > shift.startMs && shift.endMs + restMilliseconds > other.startMs {
                return "too little rest after or before \(other.key)"
            }
        }
        return nil
    }

    // MARK: - State

    private mutating func place(_ v: Int, _ s: Int, as kind: SolvedAssignment.Origin) {
        members[s].append(v)
        shiftsOf[v].append(s)
        weekCounts[v][weekOf[s], default: 0] += 1
        origin[key(s, v)] = kind
    }

    private mutating func remove(_ v: Int, _ s: Int) {
        members[s].removeAll { $0 == v }
        shiftsOf[v].removeAll { $0 == s }
        weekCounts[v][weekOf[s], default: 0] -= 1
        origin[key(s, v)] = nil
    }

    private func key(_ s: Int, _ v: Int) -> Int { s * volunteers.count + v }

    private func tieBreak(_ v: Int, _ s: Int) -> UInt64 {
        Self.mix(problem.seed &+ volunteerHash[v] &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(s))
    }

    static func mix(_ value: UInt64) -> UInt64 {
        // SplitMix64's finaliser.
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        return hash
    }

    // MARK: - The result

    private func finish(changed: Int) -> RosterSolution {
        var assignments: [SolvedAssignment] = []
        var unfilled: [UnfilledShift] = []
        var score = RosterScore()
        score.changed = changed
        var areaPlaces: [String: (filled: Int, needed: Int)] = [:]
        for s in shifts.indices {
            let shift = shifts[s]
            for v in members[s].sorted(by: { volunteers[$0].id < volunteers[$1].id }) {
                let kind = origin[key(s, v)] ?? .added
                assignments.append(
                    SolvedAssignment(
                        assignment: RosterAssignment(shift: shift.key, volunteerID: volunteers[v].id),
                        origin: kind
                    )
                )
                switch kind {
                case .fixed: break
                case .kept: score.kept += 1
                case .added: score.added += 1
                }
                if volunteers[v].statesPreferences {
                    score.preferencesStated += 1
                    if volunteers[v].prefers(shift) { score.preferencesMet += 1 }
                }
            }
            let filled = min(members[s].count, shift.peopleNeeded)
            areaPlaces[shift.areaID, default: (0, 0)].filled += filled
            areaPlaces[shift.areaID, default: (0, 0)].needed += shift.peopleNeeded
            let missing = shift.peopleNeeded - filled
            if missing > 0 {
                unfilled.append(
                    UnfilledShift(shift: shift.key, areaID: shift.areaID, missing: missing, reason: reason(s))
                )
                score.unfilledShifts += 1
                score.unfilledPlaces += missing
            }
        }
        score.assignments = assignments.count
        for group in fairnessGroups() {
            let counts = group.map { shiftsOf[$0].count }
            score.fairnessSpread = max(score.fairnessSpread, (counts.max() ?? 0) - (counts.min() ?? 0))
        }
        let coverage = areaPlaces.values.filter { $0.needed > 0 }.map { $0.filled * 100 / $0.needed }
        score.areaCoverageMinPercent = coverage.min() ?? 100
        score.areaCoverageMaxPercent = coverage.max() ?? 100
        let roster = assignments.map(\.assignment)
        score.hardViolations = RosterChecker.violations(of: roster, in: problem).count
        return RosterSolution(assignments: assignments, unfilled: unfilled, score: score)
    }

    /// Why shift `s` has empty places: what kept each volunteer who could have filled them away.
    private func reason(_ s: Int) -> String {
        let shift = shifts[s]
        var needed: Requirement?
        if closed.contains(s) || !unmetRequirements(s).isEmpty {
            // The first requirement nobody free could meet.
            needed = requirements(s).first { requirement in
                !volunteers.indices.contains { v in has(v, requirement) && whyNot(v, s, checkAvailability: true) == nil
                }
            }
        }
        let pool = volunteers.indices.filter { v in
            volunteers[v].active && !members[s].contains(v) && (needed.map { has(v, $0) } ?? true)
        }
        let what = needed.map { "no \($0.label) available" } ?? "no volunteer available"
        if pool.isEmpty {
            return needed.map { "no active \($0.label)" } ?? "no active volunteer"
        }
        if needed == nil, closed.contains(s), shift.night {
            return "nobody to go with: a night shift needs two or more people"
        }
        var unavailable = 0
        var busy = 0
        var weekly = 0
        for v in pool {
            guard let why = whyNot(v, s, checkAvailability: true) else { continue }
            if why.hasPrefix("not") {
                unavailable += 1
            } else if why.hasPrefix("at the weekly limit") {
                weekly += 1
            } else {
                busy += 1
            }
        }
        var parts: [String] = []
        if unavailable > 0 { parts.append("\(unavailable) on time off or outside their hours") }
        if busy > 0 { parts.append("\(busy) on another shift or resting") }
        if weekly > 0 { parts.append("\(weekly) at the weekly limit of \(problem.limits.maxShiftsPerWeek)") }
        if parts.isEmpty {
            return shift.night ? "nobody to go with: a night shift needs two or more people" : what
        }
        return what + " (" + parts.joined(separator: ", ") + ")"
    }
}
