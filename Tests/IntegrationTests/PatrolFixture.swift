import PatrolContract
import SanlianRPC
import SanlianWire

/// What the tests that need a patrol on duty set up through the patrol service: an area, a
/// veteran volunteer, a shift template, and the volunteer assigned to it by hand on `day`.
enum PatrolFixture {
    static func assignment(
        _ client: RPCClient,
        area: PatrolV1.PatrolArea,
        shift: (start: UInt32, end: UInt32) = (480, 960),
        day: String = "2030-01-07"
    ) async throws -> PatrolV1.Assignment {
        let roster = PatrolV1.RosterClient(client, options: CallOptions(timeout: .seconds(10)))
        _ = try await roster.upsertArea(area)
        _ = try await roster.upsertVolunteer(
            PatrolV1.UpsertVolunteerRequest(
                volunteer: PatrolV1.Volunteer(id: "v1", name: "王大山", phone: "13812345601", kind: .veteran, active: true)
            )
        )
        _ = try await roster.upsertShiftTemplate(
            PatrolV1.ShiftTemplate(
                id: "s",
                name: "patrol",
                areaID: area.id,
                startMinute: shift.start,
                endMinute: shift.end,
                peopleNeeded: 1
            )
        )
        return try await roster.assignByHand(
            PatrolV1.AssignByHandRequest(shiftTemplateID: "s", day: day, volunteerID: "v1")
        )
    }
}
