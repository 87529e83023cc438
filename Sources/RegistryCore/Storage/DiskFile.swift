#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin owner of a POSIX file descriptor. Blob files are read and written with
/// plain system calls: they are large, sequential, and `rename(2)` is what the write
/// protocol needs.
public final class DiskFile: @unchecked Sendable {
    public let fd: Int32
    private var closed = false

    public init(fd: Int32) {
        self.fd = fd
    }

    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(StorageError) -> DiskFile {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StorageError.system("open \(path)", errno) }
        return DiskFile(fd: fd)
    }

    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.system("write", errno)
            }
            offset += n
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`; returns the number read (0 at end).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress!, buffer.count, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.system("read", errno)
            }
            return n
        }
    }

    public func size() throws(StorageError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.system("stat", errno) }
        return Int64(info.st_size)
    }

    public func truncate(to size: Int64) throws(StorageError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw StorageError.system("truncate", errno) }
        guard lseek(fd, off_t(size), SEEK_SET) >= 0 else { throw StorageError.system("seek", errno) }
    }

    public func sync() throws(StorageError) {
        guard fsync(fd) == 0 else { throw StorageError.system("fsync", errno) }
    }

    public func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }

    deinit { close() }
}

public enum StorageError: Error, CustomStringConvertible, Sendable {
    case system(String, Int32)

    public var errorNumber: Int32 {
        switch self { case .system(_, let code): code }
    }

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        }
    }
}
