/// How protoc-c names C things, and how Sanlian names the Swift things generated from them.
enum Naming {
    /// protoc-c's `FullNameToC`: every dotted component camel-cased, joined by "__".
    /// "sanlian.rpc.v1.CallStart" → "Sanlian__Rpc__V1__CallStart".
    static func cType(_ fullName: String) -> String {
        fullName.split(separator: ".").map { toCamel(String($0)) }.joined(separator: "__")
    }

    /// protoc-c's `FullNameToLower`: package components as they are, the type name via
    /// `CamelToLower`. "sanlian.rpc.v1.CallStart" → "sanlian__rpc__v1__call_start".
    static func cFunctionPrefix(_ fullName: String) -> String {
        var parts = fullName.split(separator: ".").map(String.init)
        let last = parts.removeLast()
        return (parts.map { $0.lowercased() } + [protocCamelToLower(last)]).joined(separator: "__")
    }

    /// protoc-c's `CamelToLower` exactly: an underscore only where an upper-case letter follows a
    /// letter that is not, so "WhoAmIRequest" → "who_am_irequest".
    static func protocCamelToLower(_ name: String) -> String {
        var result = ""
        var wasUpper = true
        for character in name {
            let isUpper = character.isUppercase
            if isUpper {
                if !wasUpper { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
            wasUpper = isUpper
        }
        return result
    }

    /// protoc-c's `ToCamel`: upper-cases the first letter and every letter after an underscore.
    static func toCamel(_ name: String) -> String {
        var result = ""
        var upperNext = true
        for character in name {
            if character == "_" {
                upperNext = true
            } else if upperNext {
                result += character.uppercased()
                upperNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// protoc-c's `CamelToLower`: "CallStart" → "call_start".
    static func camelToLower(_ name: String) -> String {
        var result = ""
        for (index, character) in name.enumerated() {
            if character.isUppercase {
                if index > 0 { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Swift namespace for a proto package: "sanlian.rpc.v1" → "RPCV1", "sanlian.alert.v1" → "AlertV1".
    static func namespace(_ package: String) -> String {
        var parts = package.split(separator: ".").map(String.init)
        if parts.first == "sanlian" { parts.removeFirst() }
        return parts.map { part in
            acronyms.contains(part) ? part.uppercased() : toCamel(part)
        }.joined()
    }

    /// "sender_department" → "senderDepartment", "call_id" → "callID", "id" → "id".
    static func property(_ snake: String) -> String {
        let words = snake.split(separator: "_").map { $0.lowercased() }
        var result = ""
        for (index, word) in words.enumerated() {
            if index == 0 {
                result += word
            } else if acronyms.contains(word) {
                result += word.uppercased()
            } else {
                result += word.prefix(1).uppercased() + word.dropFirst()
            }
        }
        return escaped(result)
    }

    /// "kind" → "Kind", "start_position" → "StartPosition".
    static func typeName(_ snake: String) -> String {
        toCamel(snake)
    }

    /// Enum value case name: the enum's own UPPER_SNAKE prefix removed, then lowerCamel.
    /// ALERT_STATUS_ACTUAL in AlertStatus → actual; INVALID_ARGUMENT in StatusCode → invalidArgument.
    static func enumCase(_ value: String, prefix: String) -> String {
        var name = value
        if name.hasPrefix(prefix), name.count > prefix.count {
            name = String(name.dropFirst(prefix.count))
        }
        return property(name)
    }

    /// An enum value's name lower-case without its enum's prefix: SEVERITY_EXTREME → "extreme",
    /// CATEGORY_PRODUCTION_SAFETY → "production_safety".
    static func shortEnumName(_ value: String, prefix: String) -> String {
        var name = value
        if name.hasPrefix(prefix), name.count > prefix.count { name = String(name.dropFirst(prefix.count)) }
        return name.lowercased()
    }

    /// protoc's JSON name of a field: underscores dropped, the letter after each upper-cased.
    /// "sender_department" → "senderDepartment", "call_id" → "callId".
    static func jsonName(_ field: String) -> String {
        var result = ""
        var upperNext = false
        for character in field {
            if character == "_" {
                upperNext = true
            } else if upperNext {
                result += character.uppercased()
                upperNext = false
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// "AlertStatus" → "ALERT_STATUS_".
    static func enumValuePrefix(_ enumName: String) -> String {
        camelToLower(enumName).uppercased() + "_"
    }

    static func escaped(_ name: String) -> String {
        swiftKeywords.contains(name) ? "`\(name)`" : name
    }

    private static let acronyms: Set<String> = ["id", "rpc", "url", "uid"]

    private static let swiftKeywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer",
        "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where",
        "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
        "package", "some", "any", "Type", "Protocol",
    ]
}
