import NIOCore
import OCI

/// The bytes of one upload session while one request holds it. Bytes are kept as the
/// buffers they came in, up to 1 MiB a batch; each batch is hashed by one job and
/// written (`pwrite` at its offset) by another on the blocking thread pool, at once: on
/// this machine writing a MiB into the page cache costs about twice hashing it, and
/// neither needs the other. Two batches may be in flight while the next arrives, so
/// receiving, hashing and writing overlap. Bytes are never re-read from disk to hash
/// them, never copied into a buffer of our own, never written on the concurrency pool.
///
/// Only `Registry.withUploadSession` makes one, and only the task running that request
/// uses it: it is a value, so it cannot be shared.
struct UploadWriter {
    let id: UploadID
    let repository: RepositoryName
    let file: DiskFile
    /// The hash of every byte written; current after `flush()`.
    private(set) var hasher: DigestHasher
    /// Bytes written to the file plus bytes pending or in flight.
    private(set) var offset: Int64
    /// The offset when this request took the session; an aborted request goes back to it.
    let startOffset: Int64
    /// What happens to the session if the request fails from here on.
    var onFailure = UploadFailure.rollBack

    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private static let batchSize = 1 << 20
    private static let batchesInFlight = 2

    /// A batch being hashed and written. Each hash job starts from the one before it
    /// (hashing is in order); writes go to their own offsets.
    private struct Batch {
        let hashed: Task<DigestHasher, any Error>
        let written: Task<Void, any Error>
    }
    private var inFlight: [Batch] = []

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

    /// The state the session keeps between requests (after `flush()`).
    var state: UploadSessions.State {
        precondition(inFlight.isEmpty && pendingBytes == 0, "the session's state is taken before its bytes are written")
        return .init(file: file, hasher: hasher, offset: offset)
    }

    mutating func append(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        offset += Int64(buffer.readableBytes)
        pending.append(buffer)
        pendingBytes += buffer.readableBytes
        if pendingBytes >= Self.batchSize { try await startBatch() }
    }

    /// Hashes and writes everything received: the file then holds every byte so far
    /// (`offset` is its size) and `hasher` covers them.
    mutating func flush() async throws {
        try await startBatch()
        while !inFlight.isEmpty { try await finishOldest() }
    }

    /// Waits for the batches in flight, whatever their outcome: a failed request rolls
    /// its session back only once nothing writes to the file any more.
    func settle() async {
        for batch in inFlight {
            _ = try? await batch.hashed.value
            _ = try? await batch.written.value
        }
    }

    private mutating func finishOldest() async throws {
        let batch = inFlight.removeFirst()
        do {
            hasher = try await batch.hashed.value
            try await batch.written.value
        } catch {
            inFlight.insert(batch, at: 0)  // settle() still waits for it
            throw error
        }
    }

    /// Hands the pending buffers to a hash job and a write job.
    private mutating func startBatch() async throws {
        guard pendingBytes > 0 else { return }
        while inFlight.count >= Self.batchesInFlight { try await finishOldest() }
        let buffers = pending, file = self.file
        let at = offset - Int64(pendingBytes)
        let writeback = offset - writebackOffset >= Self.writebackInterval ? writebackOffset..<offset : nil
        let previous = inFlight.last?.hashed, start = hasher
        let hashed = Task {
            let base = try await previous?.value ?? start
            return try await BlockingIO.run {
                var hasher = base
                for buffer in buffers { buffer.withUnsafeReadableBytes { hasher.update($0) } }
                return hasher
            }
        }
        let written = Task {
            try await BlockingIO.run {
                var position = at
                for buffer in buffers {
                    try buffer.withUnsafeReadableBytes { try file.writeAll($0, at: position) }
                    position += Int64(buffer.readableBytes)
                }
                if let writeback { file.startWriteback(offset: writeback.lowerBound, count: Int64(writeback.count)) }
            }
        }
        inFlight.append(Batch(hashed: hashed, written: written))
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
