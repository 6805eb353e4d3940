package import SanlianWire

#if canImport(Glibc)
    import Glibc
#endif

/// The language of tables and messages: Chinese when the locale says so (`LC_ALL`,
/// `LC_MESSAGES` or `LANG` starting with `zh`), English otherwise. JSON is the same in both.
package enum Language: Sendable {
    case chinese
    case english

    /// Set by tests; the environment decides otherwise.
    @TaskLocal package static var override: Language?

    package static var current: Language {
        if let override { return override }
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { continue }
            return value.lowercased().hasPrefix("zh") ? .chinese : .english
        }
        return .english
    }
}

/// Words of the user interface in the current language.
package enum Labels {
    /// `chinese` or `english`, as the locale says.
    package static func text(_ chinese: String, _ english: String) -> String {
        Language.current == .chinese ? chinese : english
    }

    package static func state(_ state: AlertV1.AggregateState) -> String {
        switch state {
        case .firing: text("告警中", "firing")
        case .acknowledged: text("已接手", "acknowledged")
        case .resolved: text("已解除", "resolved")
        default: state.shortName
        }
    }

    package static func severity(_ severity: AlertV1.Severity) -> String {
        switch severity {
        case .extreme: text("特别严重", "extreme")
        case .severe: text("严重", "severe")
        case .moderate: text("较重", "moderate")
        case .minor: text("一般", "minor")
        case .unknown: text("未知", "unknown")
        default: "-"
        }
    }

    package static func category(_ category: AlertV1.Category) -> String {
        switch category {
        case .traffic: text("交通", "traffic")
        case .fire: text("消防", "fire")
        case .productionSafety: text("安全生产", "production safety")
        case .construction: text("建设施工", "construction")
        case .publicOrder: text("治安", "public order")
        case .natural: text("自然灾害", "natural")
        case .dispute: text("纠纷", "dispute")
        case .patrol: text("巡逻", "patrol")
        case .population: text("人口", "population")
        case .other: text("其他", "other")
        default: "-"
        }
    }

    package static func servingStatus(_ status: HealthV1.ServingStatus) -> String {
        switch status {
        case .serving: text("正常服务", "serving")
        case .notServing: text("未在服务", "not serving")
        case .serviceUnknown: text("未知服务", "unknown service")
        default: status.shortName
        }
    }

    /// The mark a drill's line carries.
    package static var drill: String { text("[演练]", "[drill]") }
}

/// ANSI colours for a terminal; nothing when the output is not one (or `NO_COLOR` is set).
package enum Colour {
    package static var enabled: Bool {
        Console.current.isTerminal && getenv("NO_COLOR") == nil
    }

    /// `text` in the colour of `severity`: red for extreme, yellow for severe, and so on.
    package static func severity(_ severity: AlertV1.Severity, _ text: String) -> String {
        guard enabled else { return text }
        let code: String
        switch severity {
        case .extreme: code = "1;31"
        case .severe: code = "31"
        case .moderate: code = "33"
        case .minor: code = "36"
        default: return text
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// Something short of what it should be (yellow).
    package static func warning(_ text: String) -> String {
        enabled ? "\u{1B}[33m\(text)\u{1B}[0m" : text
    }

    package static func dim(_ text: String) -> String {
        enabled ? "\u{1B}[2m\(text)\u{1B}[0m" : text
    }
}
