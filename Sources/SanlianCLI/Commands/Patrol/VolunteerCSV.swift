import CSV
import Foundation
import PatrolContract
import SanlianWire

/// Reads an import file of volunteers: a CSV file whose first row names the columns (in English
/// or Chinese). What the file itself gets wrong (a missing column, a kind or yes/no it cannot
/// read) is reported here, row by row; what the records get wrong, the service reports.
enum VolunteerCSV {
    /// Each column's name, and the Chinese name it may have instead.
    static let columns: [(name: String, chinese: String, required: Bool)] = [
        ("id", "编号", true), ("name", "姓名", true), ("phone", "电话", true), ("kind", "类别", true),
        ("skills", "技能", false), ("village_code", "村", false), ("team_id", "队", false), ("active", "在岗", false),
        ("preferred_area_ids", "意向区域", false), ("preferred_shift_names", "意向班次", false),
    ]

    /// - Throws: `CLIError` when the file cannot be read, is not UTF-8, or lacks a required column.
    static func read(path: String) throws -> (rows: [PatrolV1.ImportRow], rejected: [PatrolV1.RowError]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(path): cannot read the file")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw CLIError("\(path): not UTF-8 text; save it as \"CSV UTF-8\" and import it again")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return try parse(text, name: path)
    }

    static func parse(_ text: String, name: String) throws -> (
        rows: [PatrolV1.ImportRow], rejected: [PatrolV1.RowError]
    ) {
        let reader: CSVReader
        do {
            reader = try CSVRows.reader(text)
        } catch {
            throw CLIError("\(name): cannot read the header row: \(error)")
        }
        let header = CSVRows.header(reader)
        var index: [String: Int] = [:]
        for column in columns {
            if let position = header.firstIndex(where: { $0 == column.name || $0 == column.chinese }) {
                index[column.name] = position
            } else if column.required {
                throw CLIError(
                    "\(name): no column \(column.name) (or \(column.chinese)); the first row names the columns: \(columns.map(\.name).joined(separator: ", "))"
                )
            }
        }
        var rows: [PatrolV1.ImportRow] = []
        var rejected: [PatrolV1.RowError] = []
        var number: UInt32 = 1
        while let fields = reader.next() {
            number += 1
            if fields.allSatisfy({ CSVRows.trimmed($0).isEmpty }) { continue }
            func field(_ name: String) -> String {
                guard let position = index[name], position < fields.count else { return "" }
                return CSVRows.trimmed(fields[position])
            }
            func list(_ name: String) -> [String] {
                field(name).split(whereSeparator: { $0 == ";" || $0 == "|" || $0 == "；" })
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            let kind: PatrolV1.VolunteerKind
            switch field("kind").lowercased() {
            case "veteran", "退伍老兵", "老兵": kind = .veteran
            case "activist", "治安积极分子", "积极分子": kind = .activist
            case "other", "其他": kind = .other
            default:
                kind = .unspecified
                rejected.append(
                    PatrolV1.RowError(
                        row: number,
                        field: "kind",
                        message: "\"\(field("kind"))\" is not veteran, activist or other"
                    )
                )
            }
            var active = true
            switch field("active").lowercased() {
            case "", "yes", "y", "true", "1", "是": active = true
            case "no", "n", "false", "0", "否": active = false
            default:
                rejected.append(
                    PatrolV1.RowError(row: number, field: "active", message: "\"\(field("active"))\" is not yes or no")
                )
            }
            rows.append(
                PatrolV1.ImportRow(
                    row: number,
                    volunteer: PatrolV1.Volunteer(
                        id: field("id"),
                        name: field("name"),
                        phone: field("phone"),
                        kind: kind,
                        skills: list("skills"),
                        villageCode: field("village_code"),
                        teamID: field("team_id"),
                        active: active,
                        preferredAreaIds: list("preferred_area_ids"),
                        preferredShiftNames: list("preferred_shift_names")
                    )
                )
            )
        }
        if let error = reader.error { throw CLIError("\(name): row \(number + 1) cannot be read: \(error)") }
        return (rows, rejected)
    }
}
