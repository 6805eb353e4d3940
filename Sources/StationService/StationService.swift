package import GRDB
import Logging
import SanlianClock
import SanlianCompose
package import SanlianRPC
package import ServiceFrame
package import ServiceLifecycle
import StationContract

/// sanlian-station, the station's duty command room (勤务指挥室): tasks dispatched from alerts,
/// hazards and disputes to the rural traffic team, the rural policing team, the patrol team or a
/// department, followed to completion, overdue ones escalated through the outbox; the incident
/// log (cases and traffic accidents); and the daily summary and monthly report, for which it
/// asks each department's service for its figures through the broker.
///
/// The rules (task order, who acts, overdue, rates) are in `StationRules`.
package struct StationService: DepartmentService {
    package static let name = "sanlian-station"
    package static let abstract = "The duty command room (勤务指挥室): tasks, the incident log, daily and monthly reports."

    let context: ServiceContext
    let time: TownshipTime

    struct Section: Decodable {
        var utc_offset: String?
    }

    package init(context: ServiceContext) throws {
        self.context = context
        let section = try context.section("station", as: Section.self)
        if let offset = section?.utc_offset {
            guard let time = TownshipTime(offset: offset) else {
                throw ComposeError("station.utc_offset: \"\(offset)\" is not an offset like +08:00")
            }
            self.time = time
        } else {
            time = TownshipTime()
        }
    }

    package func register(on router: inout RPCRouter) {
        (self as any StationV1.TasksService).register(on: &router)
        (self as any StationV1.IncidentsService).register(on: &router)
        (self as any StationV1.ReportsService).register(on: &router)
    }

    package var background: [any Service] { [OverdueTaskWatch(service: self)] }

    package static func migrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("station v1: tasks, cases, accidents") { db in
            // Records are stored as their contract's encoded message (`body`), with the columns
            // lists, the overdue watch and the reports read beside them.
            try db.execute(
                sql: """
                    CREATE TABLE tasks (
                        id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL UNIQUE,
                        state INTEGER NOT NULL,
                        team INTEGER NOT NULL,
                        assignee TEXT NOT NULL,
                        dispatched_ms INTEGER NOT NULL,
                        due_ms INTEGER NOT NULL,
                        completed_ms INTEGER,
                        escalated_ms INTEGER,
                        drill INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX tasks_by_time ON tasks(dispatched_ms, id);
                    CREATE INDEX tasks_open ON tasks(due_ms) WHERE completed_ms IS NULL;
                    CREATE TABLE cases (
                        id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL UNIQUE,
                        date TEXT NOT NULL,
                        cleared_date TEXT,
                        recorded_ms INTEGER NOT NULL,
                        drill INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX cases_by_date ON cases(date, id);
                    CREATE TABLE accidents (
                        id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL UNIQUE,
                        date TEXT NOT NULL,
                        recorded_ms INTEGER NOT NULL,
                        drill INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX accidents_by_date ON accidents(date, id);
                    """
            )
        }
    }
}
