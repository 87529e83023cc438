import OCI

/// What can go wrong in the registry's domain. The HTTP layer maps each case to the
/// OCI error code and status in one place (`OCIError.init(_ error: RegistryError)`).
public enum RegistryError: Error, Equatable, Sendable {
    case nameInvalid(String)
    case nameUnknown(String)
    case tagInvalid(String)
    case blobUnknown(Digest)
    case blobReferenced(Digest, byManifests: [String])
    case uploadUnknown(String)
    case uploadInvalid(String)
    /// A chunk that does not start where the stored bytes end; carries the stored size.
    case uploadRangeInvalid(storedSize: Int64)
    case uploadBusy(String)
    case digestInvalid(String)
    case sizeInvalid(String)
    /// The blob would be larger than `storage.max_blob_size`.
    case blobTooLarge(limit: Int64)
    case manifestUnknown(String)
    case manifestInvalid(String)
    case manifestTooLarge(limit: Int)
    case manifestBlobUnknown([Digest])
    case manifestReferenced(Digest, byIndexes: [String])
    case unsupported(String)
    /// The database stayed locked longer than the busy timeout: retry later.
    case busy
    /// The disk (or the database) ran out of space while writing.
    case storageFull(String)
}
