package import GRDB
import Logging
import PatrolContract
import PatrolRules
import SanlianClock
package import SanlianRPC
package import ServiceFrame
package import ServiceLifecycle

/// sanlian-patrol, the joint-defence service (联防): volunteers, teams, areas and shift templates;
/// availability and the roster solved from it; assignments and swaps; check-ins on a cadence,
/// whose misses raise alerts; findings; publicity sessions and volunteer hours. Comprehensive
/// governance runs it; its records are in its own database, and every alert it raises goes out
/// through the outbox in the transaction of the change that raised it.
///
/// The rules (the roster solver and checker, the check-in cadence, record checks) are in
/// `PatrolRules`; this type holds them to the database and the contract.
package struct PatrolService: DepartmentService {
    package static let name = "sanlian-patrol"
    package static let abstract = "The volunteer patrol service (联防): rosters, check-ins, findings, publicity."

    let context: ServiceContext
    let settings: PatrolSettings

    package init(context: ServiceContext) throws {
        self.context = context
        settings = try PatrolSettings(context.section("patrol", as: PatrolSettings.Section.self))
    }

    package func register(on router: inout RPCRouter) {
        (self as any PatrolV1.RosterService).register(on: &router)
        (self as any PatrolV1.PatrolsService).register(on: &router)
        (self as any PatrolV1.PublicityService).register(on: &router)
    }

    package var background: [any Service] { [MissedCheckInWatch(service: self)] }

    package static func migrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("patrol v1: volunteers, rosters, patrols, findings, publicity") { db in
            // Records are stored as their contract's encoded message (`body`), with the columns
            // lists filter and sort on beside them.
            try db.execute(
                sql: """
                    CREATE TABLE volunteers (
                        id TEXT PRIMARY KEY,
                        village_code TEXT NOT NULL,
                        team_id TEXT NOT NULL,
                        active INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE teams (id TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE areas (id TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE shift_templates (
                        id TEXT PRIMARY KEY,
                        area_id TEXT NOT NULL REFERENCES areas(id),
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE availability (
                        volunteer_id TEXT NOT NULL REFERENCES volunteers(id),
                        position INTEGER NOT NULL,
                        from_ms INTEGER NOT NULL,
                        to_ms INTEGER NOT NULL,
                        available INTEGER NOT NULL,
                        PRIMARY KEY (volunteer_id, position)
                    ) WITHOUT ROWID;
                    CREATE TABLE assignments (
                        id TEXT PRIMARY KEY,
                        template_id TEXT NOT NULL REFERENCES shift_templates(id),
                        day TEXT NOT NULL,
                        volunteer_id TEXT NOT NULL REFERENCES volunteers(id),
                        state INTEGER NOT NULL,
                        locked INTEGER NOT NULL,
                        starts_ms INTEGER NOT NULL,
                        ends_ms INTEGER NOT NULL,
                        area_id TEXT NOT NULL,
                        shift_name TEXT NOT NULL,
                        updated_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX assignments_by_start ON assignments(starts_ms, id);
                    CREATE INDEX assignments_by_volunteer ON assignments(volunteer_id, starts_ms);
                    -- One volunteer once on a shift, among assignments that stand (not swapped
                    -- away or cancelled: states 3 and 6).
                    CREATE UNIQUE INDEX assignments_standing
                        ON assignments(template_id, day, volunteer_id) WHERE state NOT IN (3, 6);
                    CREATE TABLE swaps (
                        id TEXT PRIMARY KEY,
                        requested_ms INTEGER NOT NULL,
                        state INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE patrols (
                        assignment_id TEXT PRIMARY KEY REFERENCES assignments(id),
                        volunteer_id TEXT NOT NULL,
                        started_ms INTEGER NOT NULL,
                        last_check_in_ms INTEGER NOT NULL,
                        next_due_ms INTEGER NOT NULL,
                        misses INTEGER NOT NULL,
                        miss_open INTEGER NOT NULL,
                        shift_ends_ms INTEGER NOT NULL,
                        closed_ms INTEGER,
                        checked_out_ms INTEGER,
                        -- when the watch next has something to do: the next miss or the shift's end
                        deadline_ms INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX patrols_open ON patrols(deadline_ms) WHERE deadline_ms IS NOT NULL;
                    CREATE TABLE check_ins (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        assignment_id TEXT NOT NULL,
                        volunteer_id TEXT NOT NULL,
                        kind INTEGER NOT NULL,
                        at_ms INTEGER NOT NULL,
                        miss_number INTEGER NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX check_ins_by_assignment ON check_ins(assignment_id, position);
                    CREATE INDEX check_ins_by_time ON check_ins(at_ms, position);
                    CREATE TABLE findings (
                        id TEXT PRIMARY KEY,
                        found_ms INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX findings_by_time ON findings(found_ms, id);
                    CREATE TABLE sessions (
                        id TEXT PRIMARY KEY,
                        held_ms INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX sessions_by_time ON sessions(held_ms, id);
                    """
            )
        }
    }
}
