extension CommonV1.Place {
    /// Whether `code` is a village code as every contract takes one: 12 ASCII digits (the
    /// GB/T 2260 county, the township, the village).
    package static func isVillageCode(_ code: some StringProtocol) -> Bool {
        code.utf8.count == 12 && code.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
