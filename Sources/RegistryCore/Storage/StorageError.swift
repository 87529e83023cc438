#if canImport(Glibc)
import Glibc
#endif

/// A system call on a blob or upload file failed: what was done, and errno.
public enum StorageError: Error, CustomStringConvertible, Sendable {
    case system(String, Int32)

    /// The filesystem is full (or the quota is spent): a condition of the server, not of the request.
    public var isOutOfSpace: Bool {
        errorNumber == ENOSPC || errorNumber == EDQUOT
    }

    public var errorNumber: Int32 {
        switch self { case .system(_, let code): code }
    }

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        }
    }
}
