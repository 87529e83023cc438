/// Who caused a change, written into `audit_events` with the change itself.
public struct AuditContext: Sendable {
    public var actor: String
    public var clientAddress: String?
    public var userAgent: String?
    public var requestID: String?

    public init(actor: String = "anonymous", clientAddress: String? = nil, userAgent: String? = nil, requestID: String? = nil) {
        self.actor = actor
        self.clientAddress = clientAddress
        self.userAgent = userAgent
        self.requestID = requestID
    }

    public static let system = AuditContext(actor: "system")
}
