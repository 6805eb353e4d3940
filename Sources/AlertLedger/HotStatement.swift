import GRDB
import GRDBSQLite

/// Runs the ledger's per-alert statements (the event insert, the aggregate lookup and upsert,
/// and the reads that feed deliveries) through the SQLite C API on GRDB's cached statements:
/// GRDB's argument binding (a `DatabaseValue` per argument, C-string conversions, a reset and a
/// clear-bindings) costs more than SQLite's own work for the insert. Everything else stays GRDB.
///
/// Only for statements nothing else runs through GRDB, so GRDB's view of them (bindings, reset
/// state) never matters; nothing observes these tables through GRDB.
enum HotStatement {
    enum Value {
        case integer(Int64)
        case text(String)
        case blob([UInt8])
        case null
    }

    /// Binds `values` to the statement's parameters in order, steps it to completion and resets it.
    /// - Throws: `DatabaseError` with SQLite's code and message.
    static func run(_ statement: Statement, _ values: [Value], _ db: Database) throws {
        let raw = statement.sqliteStatement
        // A previous run always ended in a reset; this one also clears a failed step's state.
        sqlite3_reset(raw)
        defer { sqlite3_reset(raw) }
        try bind(values, to: statement, db)
        let code = sqlite3_step(raw)
        guard code == SQLITE_DONE else { throw error(code, statement, db) }
    }

    /// Binds `values`, steps once, and hands the first row (if any) to `read`, which must copy out
    /// what it needs: column memory belongs to SQLite until the statement moves on.
    static func firstRow<Row>(
        _ statement: Statement,
        _ values: [Value],
        _ db: Database,
        read: (_ columns: OpaquePointer) throws -> Row
    ) throws -> Row? {
        var row: Row?
        try eachRow(statement, values, db) { columns in
            row = try read(columns)
            return false
        }
        return row
    }

    /// Binds `values` and hands each row to `read` until it returns false or the rows end; `read`
    /// must copy out what it needs.
    static func eachRow(
        _ statement: Statement,
        _ values: [Value],
        _ db: Database,
        read: (_ columns: OpaquePointer) throws -> Bool
    ) throws {
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        defer { sqlite3_reset(raw) }
        try bind(values, to: statement, db)
        while true {
            switch sqlite3_step(raw) {
            case SQLITE_ROW: if try !read(raw) { return }
            case SQLITE_DONE: return
            case let code: throw error(code, statement, db)
            }
        }
    }

    /// Text column `index` of the current row ("" for NULL).
    static func text(_ columns: OpaquePointer, _ index: Int32) -> String {
        guard let text = sqlite3_column_text(columns, index) else { return "" }
        let count = Int(sqlite3_column_bytes(columns, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The bytes of blob column `index` of the current row, valid until the statement moves on.
    static func blob(_ columns: OpaquePointer, _ index: Int32) -> UnsafeRawBufferPointer {
        let count = Int(sqlite3_column_bytes(columns, index))
        guard count > 0, let base = sqlite3_column_blob(columns, index) else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    private static func bind(_ values: [Value], to statement: Statement, _ db: Database) throws {
        let raw = statement.sqliteStatement
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .integer(let number):
                code = sqlite3_bind_int64(raw, index, number)
            case .text(var text):
                code = text.withUTF8 { utf8 in
                    // A NULL pointer would bind NULL, not the empty string.
                    guard let base = utf8.baseAddress else { return sqlite3_bind_text(raw, index, "", 0, nil) }
                    return sqlite3_bind_text(raw, index, base, Int32(utf8.count), transient)
                }
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress else { return sqlite3_bind_zeroblob(raw, index, 0) }
                    return sqlite3_bind_blob(raw, index, base, Int32(bytes.count), transient)
                }
            case .null:
                code = sqlite3_bind_null(raw, index)
            }
            guard code == SQLITE_OK else { throw error(code, statement, db) }
        }
    }

    /// SQLite copies the bytes at once (SQLITE_TRANSIENT), so Swift storage need only live for the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func error(_ code: Int32, _ statement: Statement, _ db: Database) -> DatabaseError {
        let message = db.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}
