import HTTPTypes
import Hummingbird
import RegistryCore
import Synchronization

/// Decides, before a request touches anything, whether a write may go ahead: the one
/// place for maintenance (read-only) mode, the free-space floor and the number of
/// uploads receiving data at once.
struct WriteAdmission: Sendable {
    let readOnly: Bool
    let limits: StorageLimits
    let dataDirectory: String
    let uploads: UploadCounter
    let reserve: SpaceReserve

    init(configuration: RegistryConfiguration) {
        readOnly = configuration.readOnly
        limits = configuration.limits
        dataDirectory = configuration.dataDirectory
        uploads = UploadCounter()
        reserve = SpaceReserve(dataDirectory: configuration.dataDirectory)
        if !readOnly { reserve.replenish() }
    }

    /// Seconds a client is asked to wait when space or upload slots run out.
    static let retryAfterSeconds = 30

    /// Refuses writes in read-only mode, and pushes while the disk is below its floor.
    func check(_ method: HTTPRequest.Method) throws {
        let isPush = method == .post || method == .put || method == .patch
        guard isPush || method == .delete else { return }
        if readOnly {
            // 405 UNSUPPORTED: distribution's read-only mode unregisters the write handlers,
            // so clients already get 405 for writes, and UNSUPPORTED is the spec's code for it.
            throw OCIError(.unsupported, message: "the registry is in read-only mode",
                           detail: "maintenance.read_only is on: pushes and deletes are refused, pulls work")
        }
        if isPush {
            try checkFreeSpace()
            reserve.replenish()
        }
    }

    /// A write that ran out of space gives up the reserve, so that deletes and GC can
    /// still be recorded.
    func failed(_ error: any Error) {
        if RegistryError.isOutOfSpace(error) { reserve.release() }
    }

    /// A full disk is a condition of the server, not of the request: 503 UNAVAILABLE with
    /// Retry-After (the spec has no code for it; 507 is outside its table), so clients
    /// retry later instead of treating the push as invalid.
    func checkFreeSpace() throws {
        guard limits.minFreeSpace != .bytes(0), limits.minFreeSpace != .percent(0), let space = DiskSpace.of(dataDirectory) else { return }
        let floor = limits.minFreeSpace.bytes(capacity: space.capacity)
        guard space.available < floor else { return }
        throw OCIError(
            .unavailable, message: "insufficient disk space: \(ByteSize.format(space.available)) free, floor \(ByteSize.format(floor))",
            detail: "pushes are refused while free space on the data directory is below storage.min_free_space (\(limits.minFreeSpace))",
            headers: [.retryAfter: String(Self.retryAfterSeconds)])
    }

    /// Runs `body` holding an upload slot. A request that starts an upload (`isNew`) is
    /// refused with 429 and Retry-After past `storage.max_concurrent_uploads`; one that
    /// continues an admitted session is never refused, but counts.
    func withUploadSlot<T>(isNew: Bool, _ body: () async throws -> T) async throws -> T {
        guard uploads.acquire(limit: isNew ? limits.maxConcurrentUploads : 0) else {
            throw OCIError(.tooManyRequests, message: "too many uploads in progress",
                           detail: "\(limits.maxConcurrentUploads) uploads are receiving data (storage.max_concurrent_uploads); retry later",
                           headers: [.retryAfter: String(Self.retryAfterSeconds)])
        }
        defer { uploads.release() }
        return try await body()
    }
}

/// Requests receiving upload data right now.
final class UploadCounter: Sendable {
    private let active = Mutex(0)

    /// Takes a place unless `limit` (> 0) requests already hold one.
    func acquire(limit: Int) -> Bool {
        active.withLock { count in
            guard limit <= 0 || count < limit else { return false }
            count += 1
            return true
        }
    }

    func release() {
        active.withLock { $0 -= 1 }
    }
}
