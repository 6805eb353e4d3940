import Foundation
package import GRDB

/// A department service's own SQLite database: one file (0640, in a 0750 directory), WAL,
/// `synchronous=FULL` (a committed change, and the alerts it raised, survive a crash of the
/// process or the machine), foreign keys on, and the service's named migrations after the
/// frame's own (the outbox).
package struct ServiceDatabase: Sendable {
    package let path: String
    package let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and brings its schema up to date: the
    /// frame's migrations, then those `migrations` registers (named, append-only).
    /// - Throws: a description naming the file, for the operator to fix before the service can start.
    package init(path: String, migrations: (inout DatabaseMigrator) -> Void) throws {
        self.path = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 16 MiB of page cache a connection: a large transaction (an import of a hundred
            // thousand rows, each in several indexes) stays in memory until it commits instead
            // of spilling pages to the WAL as it goes.
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o750]
            )
            pool = try DatabasePool(path: path, configuration: configuration)
            var migrator = Self.frameMigrations
            migrations(&migrator)
            try migrator.migrate(pool)
        } catch {
            throw ServiceStartError("cannot open the database \(path): \(error)")
        }
        // Records of people and places: not for every local user to read.
        chmod(path, 0o640)
    }

    /// The frame's own tables, migrated before the service's.
    static var frameMigrations: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("frame v1: outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sanlian_outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        created_ms INTEGER NOT NULL,
                        -- 'alert' (published to the ledger) or 'call' (a unary call through the broker)
                        kind TEXT NOT NULL,
                        -- for a call: its method path
                        method TEXT,
                        -- stable for the state change that raised it: a retry is taken once
                        identifier TEXT NOT NULL,
                        -- the encoded Alert, or the call's request
                        payload BLOB NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        delivered_ms INTEGER,
                        failed_ms INTEGER
                    );
                    CREATE INDEX sanlian_outbox_pending ON sanlian_outbox(id)
                        WHERE delivered_ms IS NULL AND failed_ms IS NULL;
                    """
            )
        }
        return migrator
    }
}

/// Why a service cannot start: one line, naming what to fix.
package struct ServiceStartError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
