package import GRDB
import HazardsContract
import HazardsRules
import Logging
import SanlianCompose
package import SanlianRPC
package import ServiceFrame
package import ServiceLifecycle

/// sanlian-hazards, the joint-control service (联控): hazards reported, graded, routed to the
/// responsible department, acknowledged, assigned, handled, closed and re-opened, with overdue
/// steps escalated; and the 四分 dispute pipeline (intake, assessment, routing, case handling,
/// follow-ups, closing with a station leader's approval) with its monthly analysis. The traffic
/// office runs it; its records are in its own database, and every alert it raises goes out
/// through the outbox in the transaction of the change that raised it.
///
/// The rules (grading, routing, both lifecycles, recurrences, the analysis) are in
/// `HazardsRules`; this type holds them to the database and the contract.
package struct HazardsService: DepartmentService {
    package static let name = "sanlian-hazards"
    package static let abstract = "The joint-control service (联控): hazards, and the 四分 dispute pipeline."

    let context: ServiceContext
    let settings: HazardsSettings

    package init(context: ServiceContext) throws {
        self.context = context
        settings = try HazardsSettings(
            hazards: context.section("hazards", as: HazardsSettings.HazardsSection.self),
            disputes: context.section("disputes", as: HazardsSettings.DisputesSection.self),
            departments: Set(context.compose.departments.keys)
        )
    }

    package func register(on router: inout RPCRouter) {
        (self as any HazardsV1.HazardsService).register(on: &router)
        (self as any HazardsV1.DisputesService).register(on: &router)
    }

    package var background: [any Service] { [OverdueWatch(service: self)] }

    package static func migrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("hazards v1: hazards, disputes, follow-ups") { db in
            // Records are stored as their contract's encoded message (`body`), with the columns
            // lists, the overdue watch and the monthly analysis read beside them.
            try db.execute(
                sql: """
                    CREATE TABLE hazards (
                        id TEXT PRIMARY KEY,
                        -- the reporting department and its identifier: a repeated report is the same one
                        reporter_key TEXT UNIQUE,
                        kind INTEGER NOT NULL,
                        grade INTEGER NOT NULL,
                        state INTEGER NOT NULL,
                        department TEXT NOT NULL,
                        village TEXT NOT NULL,
                        reported_ms INTEGER NOT NULL,
                        closed_ms INTEGER,
                        due_ms INTEGER,
                        -- the steps entered so far, and the last one escalated as overdue
                        step INTEGER NOT NULL,
                        escalated_step INTEGER NOT NULL DEFAULT 0,
                        drill INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX hazards_by_time ON hazards(reported_ms, id);
                    CREATE INDEX hazards_due ON hazards(due_ms) WHERE due_ms IS NOT NULL;
                    CREATE TABLE hazard_escalations (
                        hazard_id TEXT NOT NULL REFERENCES hazards(id),
                        step INTEGER NOT NULL,
                        at_ms INTEGER NOT NULL,
                        PRIMARY KEY (hazard_id, step)
                    ) WITHOUT ROWID;
                    CREATE TABLE disputes (
                        id TEXT PRIMARY KEY,
                        accepted_ms INTEGER NOT NULL,
                        state INTEGER NOT NULL,
                        category INTEGER NOT NULL,
                        grade INTEGER,
                        channel INTEGER,
                        village TEXT NOT NULL,
                        village_group TEXT NOT NULL,
                        place TEXT NOT NULL,
                        recurrence_of TEXT,
                        resolved_ms INTEGER,
                        referred_ms INTEGER,
                        closed_ms INTEGER,
                        drill INTEGER NOT NULL,
                        body BLOB NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX disputes_by_time ON disputes(accepted_ms, id);
                    CREATE TABLE dispute_parties (
                        dispute_id TEXT NOT NULL REFERENCES disputes(id),
                        position INTEGER NOT NULL,
                        id_number TEXT NOT NULL,
                        name TEXT NOT NULL,
                        PRIMARY KEY (dispute_id, position)
                    ) WITHOUT ROWID;
                    CREATE TABLE follow_ups (
                        id TEXT PRIMARY KEY,
                        dispute_id TEXT NOT NULL REFERENCES disputes(id),
                        due_ms INTEGER NOT NULL,
                        done_ms INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX follow_ups_open ON follow_ups(due_ms, id) WHERE done_ms IS NULL;
                    CREATE INDEX follow_ups_by_dispute ON follow_ups(dispute_id);
                    """
            )
        }
    }
}
