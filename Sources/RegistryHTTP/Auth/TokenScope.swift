/// A requested scope, `repository:<name>:<actions>` or `registry:catalog:*`.
/// The name may itself contain colons (a `host:port/` prefix), so the type is what
/// comes before the first colon and the actions what follows the last one.
struct TokenScope: Sendable, Equatable {
    var type: String
    var name: String
    var actions: [String]

    init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    init?(_ text: String) {
        guard let first = text.firstIndex(of: ":"), let last = text.lastIndex(of: ":"), first < last else { return nil }
        type = String(text[..<first])
        name = String(text[text.index(after: first)..<last])
        actions = text[text.index(after: last)...].split(separator: ",").map(String.init)
        // `repository(plugin):name:pull` names a resource class; the class does not matter here.
        if let paren = type.firstIndex(of: "(") { type = String(type[..<paren]) }
        guard !type.isEmpty, !name.isEmpty else { return nil }
    }

    /// Every scope in `scope` query values, each of which may hold several separated by spaces.
    static func parseAll(_ values: [String]) -> [TokenScope] {
        values.flatMap { $0.split(separator: " ") }.compactMap { TokenScope(String($0)) }
    }
}
