/// What a client says about the bytes one upload request carries, checked before a
/// byte is written.
public struct UploadChunk: Sendable, Equatable {
    /// Where the bytes go (a `Content-Range` start): a chunk that does not continue the
    /// stored bytes is refused. Nil: after whatever is stored.
    public var offset: Int64?
    /// How many bytes the request says it carries (`Content-Length`, or the range's
    /// length): a blob that would pass `storage.max_blob_size` is refused at once.
    public var length: Int64?

    public init(offset: Int64? = nil, length: Int64? = nil) {
        self.offset = offset
        self.length = length
    }
}
