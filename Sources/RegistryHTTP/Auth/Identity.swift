import RegistryCore

/// Who is making a request, as established by the access control, and what it may do.
public struct Identity: Sendable {
    enum Rights: Sendable {
        /// Auth mode `none`: everything.
        case unrestricted
        /// HTTP Basic or no credentials: the configured policy decides.
        case policy(AccessPolicy)
        /// A verified bearer token: its `access` claims, plus what anonymous callers may do.
        case token(TokenAccessSet, AccessPolicy)
    }

    /// The authenticated user name or token subject; nil for an anonymous caller.
    public let user: String?
    let rights: Rights

    /// The name recorded in the audit trail.
    public var actor: String { user ?? "anonymous" }

    static let unrestricted = Identity(user: nil, rights: .unrestricted)

    /// An authenticated caller, or anyone when access is unrestricted.
    var isAuthenticated: Bool { user != nil || seesEveryRepository }

    /// Whether the caller may perform `action` on `repository`.
    func allows(_ action: AuthConfiguration.Action, on repository: String) -> Bool {
        switch rights {
        case .unrestricted:
            return true
        case .policy(let policy):
            return policy.allows(user, action, on: repository)
        case .token(let access, let policy):
            return access.allows(action.rawValue, type: "repository", name: repository)
                || policy.allows(nil, action, on: repository)
        }
    }

    /// Whether the catalog lists `repository` to this caller: only when it may pull it.
    func mayList(_ repository: String) -> Bool {
        switch rights {
        case .unrestricted: true
        case .policy(let policy), .token(_, let policy): policy.allows(user, .pull, on: repository)
        }
    }

    /// Whether the catalog must be filtered for this caller at all.
    var seesEveryRepository: Bool {
        if case .unrestricted = rights { return true }
        return false
    }

    /// Whether the caller may call `GET /v2/_catalog`. A token must grant
    /// `registry:catalog:*` itself (the token specification: every resource a request
    /// touches needs its scope in `access`), whoever its subject is; the built-in token
    /// service grants it to those the policy lets list the catalog.
    var mayListCatalog: Bool {
        switch rights {
        case .unrestricted: true
        case .policy(let policy): policy.mayListCatalog(user)
        case .token(let access, let policy):
            access.allows("*", type: "registry", name: "catalog") || policy.mayListCatalog(nil)
        }
    }
}
