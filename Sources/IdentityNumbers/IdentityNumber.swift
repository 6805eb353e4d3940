/// A resident identity number (公民身份号码, GB 11643-1999): 6 digits of region, 8 of birth date,
/// 3 of sequence (odd for men, even for women), and a check digit (ISO 7064 MOD 11-2: 0–9 or X).
package struct IdentityNumber: Sendable, Hashable, CustomStringConvertible {
    /// The 18 characters, the check digit upper-case.
    package let text: String

    /// Why a text is not an identity number.
    package enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case length(Int)
        case characters
        case birthDate(String)
        case checkDigit(expected: Character)

        package var description: String {
            switch self {
            case .length(let count): "has \(count) characters, not 18"
            case .characters: "must be 17 digits and a digit or X"
            case .birthDate(let date): "holds the birth date \(date), which is not a date"
            case .checkDigit(let expected): "has a wrong check digit (GB 11643: it would be \(expected))"
            }
        }
    }

    /// - Throws: `Problem` saying what is wrong.
    package init(_ text: String) throws(Problem) {
        let characters = Array(text.uppercased())
        guard characters.count == 18 else { throw .length(characters.count) }
        guard characters.prefix(17).allSatisfy({ $0.isASCII && $0.isNumber }),
            characters[17].isASCII && (characters[17].isNumber || characters[17] == "X")
        else { throw .characters }
        let digits = characters.prefix(17).map { Int(String($0))! }
        let year = digits[6] * 1000 + digits[7] * 100 + digits[8] * 10 + digits[9]
        let month = digits[10] * 10 + digits[11]
        let day = digits[12] * 10 + digits[13]
        guard (1900...2100).contains(year), (1...12).contains(month), (1...Self.days(month, year)).contains(day) else {
            throw .birthDate(String(characters[6..<14]))
        }
        let expected = Self.checkDigit(digits)
        guard characters[17] == expected else { throw .checkDigit(expected: expected) }
        self.text = String(characters)
    }

    package var description: String { text }

    /// "YYYY-MM-DD".
    package var birthDate: String {
        let characters = Array(text)
        return String(characters[6..<10]) + "-" + String(characters[10..<12]) + "-" + String(characters[12..<14])
    }

    package var isMale: Bool { Int(String(Array(text)[16]))! % 2 == 1 }

    /// The first six digits: the region of first registration.
    package var region: String { String(text.prefix(6)) }

    /// "511681********123X": the region and the last four, for callers without the grant.
    package var masked: String { Self.masked(text) }

    /// Any stored number masked as `masked` does, checked or not.
    package static func masked(_ text: String) -> String {
        guard text.count > 10 else { return String(repeating: "*", count: text.count) }
        return String(text.prefix(6)) + String(repeating: "*", count: text.count - 10) + String(text.suffix(4))
    }

    /// ISO 7064 MOD 11-2 over the first 17 digits.
    package static func checkDigit(_ digits: [Int]) -> Character {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return Array("10X98765432")[sum % 11]
    }

    static func days(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
