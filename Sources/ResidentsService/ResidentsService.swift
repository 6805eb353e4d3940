package import GRDB
import Logging
import ResidentsContract
package import SanlianRPC
package import ServiceFrame
import ServiceLifecycle

/// sanlian-residents, the joint-management service (联管) of the station's household
/// registration office: people (ID numbers checked, sex and birth date derived), households,
/// arrivals and departures reported by village group leaders and enterprise owners within their
/// scope, who is present and whose registration has lapsed, duplicates reviewed and merged,
/// household-registration transfers with their checklists and the lock they hold, window services
/// and their completion rates, statistics, staged imports committed whole, and personal data
/// masked unless asked for with a purpose, every unmasked read audited.
///
/// The rules (ID checks, reporter scope, duplicates, transfers, rates) are in `ResidentsRules`.
package struct ResidentsService: DepartmentService {
    package static let name = "sanlian-residents"
    package static let abstract =
        "The resident population service (联管): people, households, transfers, window services."

    let context: ServiceContext
    let settings: ResidentsSettings

    package init(context: ServiceContext) throws {
        self.context = context
        settings = try ResidentsSettings(context.section("residents", as: ResidentsSettings.Section.self))
    }

    package func register(on router: inout RPCRouter) {
        (self as any ResidentsV1.PopulationService).register(on: &router)
        (self as any ResidentsV1.ImportsService).register(on: &router)
        (self as any ResidentsV1.TransfersService).register(on: &router)
        (self as any ResidentsV1.WindowServicesService).register(on: &router)
    }

    package static func migrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration(
            "residents v1: people, households, movements, transfers, window services, audit, imports"
        ) { db in
            try db.execute(
                sql: """
                    CREATE TABLE people (
                        id_number TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        birth_date TEXT NOT NULL,
                        village TEXT NOT NULL,
                        enterprise TEXT NOT NULL,
                        residence INTEGER NOT NULL,
                        present INTEGER NOT NULL,
                        last_confirmed_ms INTEGER NOT NULL,
                        locked_by TEXT,
                        -- set when merged into another person: no longer listed, its history kept
                        merged_into TEXT,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX people_by_name ON people(name, id_number);
                    CREATE INDEX people_by_village ON people(village, id_number);
                    CREATE INDEX people_by_enterprise ON people(enterprise, id_number);
                    CREATE INDEX people_by_birth ON people(birth_date, name);
                    CREATE TABLE households (
                        id TEXT PRIMARY KEY,
                        village TEXT NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE movements (
                        id TEXT PRIMARY KEY,
                        kind INTEGER NOT NULL,
                        id_number TEXT NOT NULL,
                        name TEXT NOT NULL,
                        village TEXT NOT NULL,
                        enterprise TEXT NOT NULL,
                        at_ms INTEGER NOT NULL,
                        reported_by TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX movements_by_time ON movements(at_ms, id);
                    CREATE INDEX movements_by_person ON movements(id_number, at_ms);
                    CREATE TABLE duplicate_candidates (
                        id TEXT PRIMARY KEY,
                        left_id TEXT NOT NULL,
                        right_id TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        -- the record as the second report gave it
                        right_body BLOB NOT NULL,
                        -- 0 open, 1 merged, 2 distinct
                        state INTEGER NOT NULL,
                        created_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE audit (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        at_ms INTEGER NOT NULL,
                        department TEXT NOT NULL,
                        operator_id TEXT NOT NULL,
                        method TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        purpose TEXT NOT NULL
                    );
                    CREATE INDEX audit_by_time ON audit(at_ms, position);
                    -- Nobody edits the audit log, this service included.
                    CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TABLE transfers (
                        id TEXT PRIMARY KEY,
                        id_number TEXT NOT NULL,
                        state INTEGER NOT NULL,
                        requested_ms INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX transfers_by_time ON transfers(requested_ms, id);
                    CREATE TABLE window_services (
                        id TEXT PRIMARY KEY,
                        received_ms INTEGER NOT NULL,
                        finished_ms INTEGER,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX window_services_by_time ON window_services(received_ms, id);
                    CREATE TABLE imports (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        state INTEGER NOT NULL,
                        created_ms INTEGER NOT NULL,
                        created INTEGER NOT NULL DEFAULT 0,
                        updated INTEGER NOT NULL DEFAULT 0,
                        unchanged INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID;
                    CREATE TABLE import_chunks (
                        import_id TEXT NOT NULL REFERENCES imports(id),
                        chunk INTEGER NOT NULL,
                        PRIMARY KEY (import_id, chunk)
                    ) WITHOUT ROWID;
                    CREATE TABLE import_rows (
                        import_id TEXT NOT NULL REFERENCES imports(id),
                        chunk INTEGER NOT NULL,
                        position INTEGER NOT NULL,
                        line INTEGER NOT NULL,
                        kind INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        PRIMARY KEY (import_id, chunk, position)
                    ) WITHOUT ROWID;
                    CREATE TABLE import_errors (
                        import_id TEXT NOT NULL REFERENCES imports(id),
                        line INTEGER NOT NULL,
                        field TEXT NOT NULL,
                        message TEXT NOT NULL
                    );
                    CREATE INDEX import_errors_by_import ON import_errors(import_id, line);
                    """
            )
        }
    }
}
