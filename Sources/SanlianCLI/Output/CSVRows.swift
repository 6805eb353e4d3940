import CSV

/// How the import commands read CSV files: the first row names the columns, every field trimmed.
enum CSVRows {
    /// A reader of `text`. Fields are trimmed by `trimmed`, not by CSV.swift, whose trimming goes
    /// through NSString and costs more than reading the rows.
    static func reader(_ text: String) throws -> CSVReader {
        try CSVReader(string: text, hasHeaderRow: true, trimFields: false)
    }

    /// `field` without leading and trailing whitespace.
    static func trimmed(_ field: String) -> String {
        guard let first = field.first, let last = field.last, first.isWhitespace || last.isWhitespace else {
            return field
        }
        let start = field.firstIndex { !$0.isWhitespace } ?? field.endIndex
        guard start < field.endIndex, let end = field.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(field[start...end])
    }

    /// The header row, trimmed and lower-cased.
    static func header(_ reader: CSVReader) -> [String] {
        (reader.headerRow ?? []).map { trimmed($0).lowercased() }
    }
}
