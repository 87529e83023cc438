import HTTPTypes
import RegistryCore

/// What a `/v2` request needs: derived from its route and method, before any
/// controller runs.
enum AccessRequirement: Sendable, Equatable {
    typealias Action = AuthConfiguration.Action

    /// `GET /v2/` and paths that are no endpoint: any authenticated caller.
    case authenticated
    /// `GET /v2/_catalog`.
    case catalog
    /// These actions on this repository.
    case repository(String, [Action])

    init(route: RegistryRoute?, method: HTTPRequest.Method) {
        guard let route else {
            self = .authenticated
            return
        }
        switch route {
        case .base:
            self = .authenticated
        case .catalog:
            self = .catalog
        case .uploadStart(let name), .upload(let name, _):
            // Every step of an upload session (start, chunks, status, cancel) is pushing.
            self = .repository(name, [.push])
        case .manifest(let name, _), .blob(let name, _), .tags(let name), .referrers(let name, _):
            switch method {
            case .get, .head: self = .repository(name, [.pull])
            case .delete: self = .repository(name, [.delete])
            default: self = .repository(name, [.push])
            }
        }
    }

    /// The `scope` of the Bearer challenge: what a client should ask the token
    /// service for. Pushing clients also pull (docker and containers/image ask both).
    var scope: String? {
        switch self {
        case .authenticated: nil
        case .catalog: "registry:catalog:*"
        case .repository(let name, let actions):
            "repository:\(name):" + (actions.contains(.push) ? "pull,push" : actions.map(\.rawValue).joined(separator: ","))
        }
    }

    func isSatisfied(by identity: Identity) -> Bool {
        switch self {
        case .authenticated: identity.isAuthenticated
        case .catalog: identity.mayListCatalog
        case .repository(let name, let actions): actions.allSatisfy { identity.allows($0, on: name) }
        }
    }
}
