#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Emergency ballast (CockroachDB's EMERGENCY_BALLAST, kept by the registry itself): a
/// file that holds a little space on the data directory's filesystem. When a write runs
/// out of space, the file is deleted, so that the database still has room to record the
/// deletes and GC runs that make space again; once there is room for it twice over, it
/// is put back. Without it, a disk filled by blobs would refuse even the DELETE that
/// would empty it.
public final class SpaceReserve: Sendable {
    public static let fileName = "reserved-space"
    /// The most it holds; on small filesystems, a sixteenth of the capacity.
    public static let maximumSize: Int64 = 16 << 20

    public let path: String
    private let dataDirectory: String
    private let present = Mutex(false)

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
        path = "\(dataDirectory)/\(Self.fileName)"
        present.withLock { $0 = access(path, F_OK) == 0 }
    }

    public var isPresent: Bool { present.withLock { $0 } }

    /// Creates the file when it is missing and the filesystem has room for it twice over.
    public func replenish() {
        guard !isPresent, let space = DiskSpace.of(dataDirectory) else { return }
        let size = min(Self.maximumSize, space.capacity / 16) / 4096 * 4096
        guard size > 0, space.available >= 2 * size else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let allocated = posix_fallocate(fd, 0, off_t(size)) == 0
        close(fd)
        if allocated {
            present.withLock { $0 = true }
        } else {
            unlink(path)
        }
    }

    /// Frees the space. Called when a write ran out of it.
    public func release() {
        present.withLock { isPresent in
            if isPresent { unlink(path) }
            isPresent = false
        }
    }
}
