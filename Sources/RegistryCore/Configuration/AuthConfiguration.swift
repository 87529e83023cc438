import Yams

/// Who may do what. Parsed from the `auth:` section of the configuration file.
public struct AuthConfiguration: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Anyone may do anything (the embedded quick start).
        case none
        /// HTTP Basic against an htpasswd file (bcrypt entries, `htpasswd -B`).
        case htpasswd
        /// Bearer tokens per the Docker registry token specification, from an external
        /// token service or the built-in `/auth/token` (which checks the htpasswd users).
        case token
    }

    public enum Action: String, Sendable, CaseIterable, Codable {
        case pull, push, delete, catalog
    }

    /// One authorization rule: these subjects may do these actions on repositories
    /// matching these patterns (`*` within one path segment, `**` across segments).
    public struct Rule: Sendable, Equatable {
        /// User names, `group:NAME`, `*` (any authenticated user) or `anonymous`.
        public var subjects: [String]
        public var repositories: [String]
        public var actions: Set<Action>

        public init(subjects: [String], repositories: [String], actions: Set<Action>) {
            self.subjects = subjects
            self.repositories = repositories
            self.actions = actions
        }
    }

    public var mode: Mode = .none
    public var htpasswdFile: String?
    /// The realm of the Basic challenge.
    public var realm = "Stowage"
    /// Token mode: the token service URL for the challenge; nil means the built-in
    /// endpoint `/auth/token` of this registry.
    public var tokenRealm: String?
    public var tokenService = "stowage"
    public var tokenIssuer = "stowage"
    /// PEM public keys or certificates that verify tokens (RS256/ES256). The built-in
    /// issuer's own key is always trusted.
    public var tokenVerificationKeys: [String] = []
    /// PEM private key (P-256 for ES256, or RSA for RS256) of the built-in issuer;
    /// nil means one generated once and kept in the data directory.
    public var tokenSigningKey: String?
    public var tokenLifetime: Duration = .seconds(300)
    /// Rules; with none, every authenticated user may do everything.
    public var rules: [Rule] = []
    public var groups: [String: [String]] = [:]
    /// Failed logins allowed per client address per minute before 429.
    public var failedLoginLimit = 10

    public init() {}
}

extension AuthConfiguration.Mode: ConfigurationChoice {}

/// `auth.access`: each rule is a mapping of exactly these keys.
extension AuthConfiguration.Rule: ConfigurationElement {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case subjects, repositories, actions
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        subjects = try container.decode([String].self, forKey: .subjects)
        repositories = try container.decode([String].self, forKey: .repositories)
        let names = try container.decode([String].self, forKey: .actions)
        actions = try Set(names.map { name in
            guard let action = AuthConfiguration.Action(rawValue: name) else {
                throw ConfigurationError.invalid(key: NodeDecoder.dotted(decoder.codingPath + [CodingKeys.actions]),
                                                 expected: "pull, push, delete or catalog", got: name)
            }
            return action
        })
    }

    var yaml: Node {
        Node([
            (Node("subjects"), subjects.yaml), (Node("repositories"), repositories.yaml),
            (Node("actions"), AuthConfiguration.Action.allCases.filter(actions.contains).map(\.rawValue).yaml),
        ])
    }
}
