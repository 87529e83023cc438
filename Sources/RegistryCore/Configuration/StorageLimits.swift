/// What a push may use: blob size, concurrent uploads, and the free space it must leave.
public struct StorageLimits: Sendable, Equatable {
    /// The largest blob accepted, in bytes; 0 means no limit.
    public var maxBlobSize: Int64 = 0
    /// Upload requests receiving data at the same time; past it, new uploads get 429. 0 means no limit.
    public var maxConcurrentUploads = 0
    /// Pushes are refused while the data directory's filesystem has less free space.
    public var minFreeSpace = FreeSpaceFloor.default

    public init() {}
}
