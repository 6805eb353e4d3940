import ResidentsRules
import SanlianClock
import SanlianCompose

/// The compose file's `residents:` section (compose/township.yaml shows every key with its
/// default).
struct ResidentsSettings: Sendable {
    var time = TownshipTime()
    var lapseMonths = 6
    var onTheSpotMs: Int64 = 30 * 60_000
    var regions = RegionPolicy()
    /// Per transfer kind's name (move_in, move_out, birth, marriage, study): its document checklist.
    var checklists: [String: [String]] = [
        "move_in": ["户口迁移证", "居民身份证", "准予迁入证明"],
        "move_out": ["居民户口簿", "居民身份证", "迁入地准予迁入证明"],
        "birth": ["出生医学证明", "父母居民户口簿", "父母居民身份证"],
        "marriage": ["结婚证", "居民户口簿", "居民身份证"],
        "study": ["录取通知书", "居民户口簿", "居民身份证"],
    ]

    struct Section: Decodable {
        var utc_offset: String?
        var lapse_months: Int?
        var on_the_spot: String?
        var regions: Regions?
        var transfer_documents: [String: [String]]?

        struct Regions: Decodable {
            var known: [String]?
            var refuse_unknown: Bool?
        }
    }

    /// - Throws: `ComposeError` naming the key at fault.
    init(_ section: Section?) throws(ComposeError) {
        guard let section else { return }
        if let offset = section.utc_offset {
            guard let time = TownshipTime(offset: offset) else {
                throw ComposeError("residents.utc_offset: \"\(offset)\" is not an offset like +08:00")
            }
            self.time = time
        }
        if let months = section.lapse_months {
            guard (1...120).contains(months) else { throw ComposeError("residents.lapse_months: 1–120, got \(months)") }
            lapseMonths = months
        }
        onTheSpotMs =
            Int64(try ComposeFile.duration(section.on_the_spot, default: 1800, key: "residents.on_the_spot")) * 1000
        if let regions = section.regions {
            for code in regions.known ?? [] where !(code.count == 6 && code.allSatisfy { $0.isASCII && $0.isNumber }) {
                throw ComposeError("residents.regions.known: \"\(code)\" is not a six-digit region code")
            }
            self.regions = RegionPolicy(
                knownRegions: Set(regions.known ?? []),
                refuseUnknown: regions.refuse_unknown ?? false
            )
        }
        for (kind, documents) in section.transfer_documents ?? [:] {
            guard checklists[kind] != nil else {
                throw ComposeError(
                    "residents.transfer_documents.\(kind): not a kind of transfer (\(checklists.keys.sorted().joined(separator: ", ")))"
                )
            }
            guard !documents.isEmpty, Set(documents).count == documents.count else {
                throw ComposeError("residents.transfer_documents.\(kind): a non-empty list of distinct documents")
            }
            checklists[kind] = documents
        }
    }
}
