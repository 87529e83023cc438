/// What one client connection may hold on the main listener. A slow or idle client
/// must not keep descriptors and memory forever: connections that do nothing are
/// closed, a request head must arrive in time, a body (or a response) that stops
/// moving is cut, and past `maxConnections` new connections wait in the listen queue
/// while existing ones keep working.
public struct HTTPSettings: Sendable, Equatable {
    /// A keep-alive connection with no request in progress is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// The request line and headers must arrive within this, counted from their first byte.
    public var requestHeadTimeout: Duration = .seconds(30)
    /// A request body from which no byte arrives for this long while the server waits
    /// for it is cut; so is a response the client stops reading. A slow but moving
    /// transfer is never cut.
    public var bodyIdleTimeout: Duration = .seconds(60)
    /// Connections served at once; more wait, unaccepted, in the listen backlog.
    public var maxConnections = 2048

    public init() {}
}
