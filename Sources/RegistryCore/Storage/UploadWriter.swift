import NIOCore
import OCI

/// The bytes of one upload session while one request holds it. Bytes are hashed as they
/// arrive (a blob is never re-read to hash it) and kept as the buffers they came in, up
/// to 1 MiB, which are then written in one job on the blocking thread pool: no copy into
/// a buffer of our own, and no `write(2)` on the concurrency pool.
///
/// Only `Registry.withUploadSession` makes one, and only the task running that request
/// uses it: it is a value, so it cannot be shared.
struct UploadWriter {
    let id: UploadID
    let repository: RepositoryName
    let file: DiskFile
    private(set) var hasher: DigestHasher
    /// Bytes written to the file plus bytes pending.
    private(set) var offset: Int64
    /// The offset when this request took the session; an aborted request goes back to it.
    let startOffset: Int64
    /// What happens to the session if the request fails from here on.
    var onFailure = UploadFailure.rollBack

    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private static let flushSize = 1 << 20
    /// How far the kernel has been asked to write the file back: writeback starts every
    /// 8 MiB while the body arrives, so the fsync that makes the blob durable finds
    /// almost nothing left to write.
    private var writebackOffset: Int64
    private static let writebackInterval: Int64 = 8 << 20

    init(id: UploadID, repository: RepositoryName, state: UploadSessions.State) {
        self.id = id
        self.repository = repository
        file = state.file
        hasher = state.hasher
        offset = state.offset
        startOffset = state.offset
        writebackOffset = state.offset
    }

    var bytesThisRequest: Int64 { offset - startOffset }

    /// The state the session keeps between requests.
    var state: UploadSessions.State { .init(file: file, hasher: hasher, offset: offset) }

    mutating func append(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        buffer.withUnsafeReadableBytes { hasher.update($0) }
        offset += Int64(buffer.readableBytes)
        pending.append(buffer)
        pendingBytes += buffer.readableBytes
        if pendingBytes >= Self.flushSize { try await flush() }
    }

    /// Writes the pending buffers to the file.
    mutating func flush() async throws {
        guard pendingBytes > 0 else { return }
        // Once flushed, the file holds every byte so far: `offset` is its size.
        let buffers = pending, file = self.file
        let writeback = offset - writebackOffset >= Self.writebackInterval ? writebackOffset..<offset : nil
        try await BlockingIO.run {
            for buffer in buffers {
                try buffer.withUnsafeReadableBytes { try file.writeAll($0) }
            }
            if let writeback { file.startWriteback(offset: writeback.lowerBound, count: Int64(writeback.count)) }
        }
        if let writeback { writebackOffset = writeback.upperBound }
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }
}

/// What a failed request does to its upload session.
enum UploadFailure {
    /// Cut the bytes this request wrote: the session is exactly as before the request.
    case rollBack
    /// The session's file became a blob file (a restore whose commit failed): it must not
    /// be cut; the session forgets it and the next request finds the session gone.
    case forget
    /// The session ends: its row and its file go (a monolithic upload, a digest mismatch).
    case cancel
}
