import OCI

extension DiskFile {
    static let readChunkSize = 1 << 20

    /// The one sequential read loop for whole files: hands `body` successive chunks of
    /// up to 1 MiB from `offset`, up to `length` bytes or the end of the file. Blocking:
    /// run it through `BlockingIO`.
    func readChunks(from offset: Int64 = 0, length: Int64? = nil, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readChunkSize, alignment: 16)
        defer { buffer.deallocate() }
        let end = length.map { offset + $0 } ?? .max
        var position = offset
        while position < end {
            let want = Int(min(Int64(buffer.count), end - position))
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: position)
            if count == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            position += Int64(count)
        }
    }

    /// The running hash of the file's first `length` bytes (all of it when nil).
    func hasher(length: Int64? = nil, algorithm: Digest.Algorithm) throws -> DigestHasher {
        var hasher = DigestHasher(algorithm: algorithm)
        try readChunks(length: length) { hasher.update($0) }
        return hasher
    }
}
