import GRDB
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

extension RegistryError {
    /// Whether a write failed because the disk is full: a file write (ENOSPC, EDQUOT)
    /// or the database unable to grow.
    public static func isOutOfSpace(_ error: any Error) -> Bool {
        switch error {
        case let error as StorageError: error.isOutOfSpace
        case RegistryError.storageFull: true
        default: false
        }
    }
}

extension RegistryError {
    /// SQLITE_BUSY after the busy timeout becomes a retryable 503; other database
    /// errors stay what they are (an internal error).
    static func mapping(_ error: any Error) -> any Error {
        if let error = error as? DatabaseError, error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            return RegistryError.busy
        }
        if let error = error as? DatabaseError, error.resultCode == .SQLITE_FULL {
            return RegistryError.storageFull("the database could not grow: \(error.message ?? "disk full")")
        }
        return error
    }
}
