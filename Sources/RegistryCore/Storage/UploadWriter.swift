import OCI

/// The bytes of one upload session, held by one request at a time: appends are
/// buffered (1 MiB) and hashed as they arrive, so a blob is never re-read to hash it.
public final class UploadWriter: @unchecked Sendable {
    public let id: UploadID
    public let repository: RepositoryName
    let file: DiskFile
    var hasher: DigestHasher
    /// Bytes written to the file plus bytes in the buffer.
    public private(set) var offset: Int64
    /// The offset when this request took the session; an aborted request goes back to it.
    public let startOffset: Int64
    private var buffer: [UInt8]
    private static let bufferSize = 1 << 20
    /// Bytes in the file, and how far the kernel has been asked to write them back:
    /// writeback starts every 8 MiB while the body arrives, so the fsync that makes
    /// the blob durable finds almost nothing left to write.
    private var fileSize: Int64
    private var writebackOffset: Int64
    private static let writebackInterval: Int64 = 8 << 20

    init(id: UploadID, repository: RepositoryName, file: DiskFile, hasher: DigestHasher, offset: Int64) {
        self.id = id
        self.repository = repository
        self.file = file
        self.hasher = hasher
        self.offset = offset
        self.startOffset = offset
        fileSize = offset
        writebackOffset = offset
        buffer = []
        buffer.reserveCapacity(Self.bufferSize)
    }

    public var bytesThisRequest: Int64 { offset - startOffset }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        hasher.update(bytes)
        offset += Int64(bytes.count)
        if buffer.count + bytes.count > Self.bufferSize {
            try flush()
        }
        if bytes.count >= Self.bufferSize {
            try file.writeAll(bytes)
            fileWritten(bytes.count)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in try write(raw) }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in try file.writeAll(raw) }
        fileWritten(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    private func fileWritten(_ count: Int) {
        fileSize += Int64(count)
        if fileSize - writebackOffset >= Self.writebackInterval {
            file.startWriteback(offset: writebackOffset, count: fileSize - writebackOffset)
            writebackOffset = fileSize
        }
    }
}
