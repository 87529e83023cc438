#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free space on the filesystem that holds a directory, as an unprivileged writer sees
/// it (`statvfs`: blocks available to non-root users, so root's reserve does not count).
public struct DiskSpace: Sendable, Equatable {
    public var available: Int64
    public var capacity: Int64

    public init(available: Int64, capacity: Int64) {
        self.available = available
        self.capacity = capacity
    }

    /// nil when the directory cannot be examined (then nothing is refused because of it).
    public static func of(_ path: String) -> DiskSpace? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let block = Int64(info.f_frsize)
        return DiskSpace(available: Int64(info.f_bavail) * block, capacity: Int64(info.f_blocks) * block)
    }
}
