import RegistryCore

/// Who may do what on which repository, from the configuration's rules and groups.
///
/// The rights of a caller on a repository are the union of every rule that names
/// the caller (its user name, one of its groups as `group:NAME`, `*` for any
/// authenticated user, `anonymous`) and has a pattern matching the repository.
/// Authenticated users also get what anonymous callers get. With no rules at all,
/// every authenticated user may do everything and anonymous callers nothing.
struct AccessPolicy: Sendable {
    typealias Action = AuthConfiguration.Action

    struct Rule: Sendable {
        var subjects: Set<String>
        var patterns: [RepositoryPattern]
        var actions: Set<Action>
    }

    let rules: [Rule]
    /// user name → the groups that list it.
    let groupsOfUser: [String: Set<String>]

    init(rules: [AuthConfiguration.Rule], groups: [String: [String]]) {
        self.rules = rules.map {
            Rule(subjects: Set($0.subjects), patterns: $0.repositories.map(RepositoryPattern.init), actions: $0.actions)
        }
        var groupsOfUser: [String: Set<String>] = [:]
        for (group, users) in groups {
            for user in users { groupsOfUser[user, default: []].insert(group) }
        }
        self.groupsOfUser = groupsOfUser
    }

    init(configuration: AuthConfiguration) {
        self.init(rules: configuration.rules, groups: configuration.groups)
    }

    /// The subjects a caller answers to; nil is an anonymous caller.
    private func subjects(of user: String?) -> Set<String> {
        guard let user else { return ["anonymous"] }
        var subjects: Set<String> = ["anonymous", "*", user]
        for group in groupsOfUser[user] ?? [] { subjects.insert("group:\(group)") }
        return subjects
    }

    /// The repository actions (pull, push, delete) the caller has on `repository`.
    func actions(for user: String?, on repository: String) -> Set<Action> {
        if rules.isEmpty { return user == nil ? [] : [.pull, .push, .delete] }
        let subjects = subjects(of: user)
        var granted: Set<Action> = []
        for rule in rules where !rule.subjects.isDisjoint(with: subjects) {
            guard rule.patterns.contains(where: { $0.matches(repository) }) else { continue }
            granted.formUnion(rule.actions)
        }
        granted.remove(.catalog)
        return granted
    }

    func allows(_ user: String?, _ action: Action, on repository: String) -> Bool {
        actions(for: user, on: repository).contains(action)
    }

    /// Whether the caller may call `GET /v2/_catalog`: any authenticated user, and
    /// anonymous callers when a rule gives `anonymous` the `catalog` action. What the
    /// catalog lists is filtered by `pull` all the same.
    func mayListCatalog(_ user: String?) -> Bool {
        if user != nil { return true }
        return rules.contains { $0.subjects.contains("anonymous") && $0.actions.contains(.catalog) }
    }
}
