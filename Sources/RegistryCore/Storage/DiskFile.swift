#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A thin owner of a POSIX file descriptor. Blob files are read and written with
/// plain system calls: they are large, sequential, and `rename(2)` is what the write
/// protocol needs. Every call blocks: callers run them through `BlockingIO` (or inside
/// a database transaction, which runs on GRDB's queue).
public final class DiskFile: Sendable {
    public let fd: Int32
    private let closed = Atomic(false)

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

    /// Writes all of `bytes` at `offset` (`pwrite(2)`: writes at different offsets may
    /// run at once; the file position does not move).
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.system("write", errno)
            }
            done += n
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

    /// Starts writing back the range's dirty pages without waiting for them
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux, a no-op elsewhere), so a
    /// later `sync()` of a large file does not have to write it all at once.
    /// Best effort: durability still comes only from `sync()`.
    public func startWriteback(offset: Int64, count: Int64) {
        #if os(Linux)
        _ = SyncFileRange.function?(fd, off_t(offset), off_t(count), SyncFileRange.write)
        #endif
    }

    public func sync() throws(StorageError) {
        guard fsync(fd) == 0 else { throw StorageError.system("fsync", errno) }
    }

    /// Closes the descriptor once, whoever calls first.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = Glibc.close(fd)
    }

    deinit { close() }
}

#if os(Linux)
/// `sync_file_range(2)`, which the Glibc module does not import (it is `_GNU_SOURCE`
/// only): looked up once in the C library.
private struct SyncFileRange: @unchecked Sendable {
    typealias Function = @convention(c) (Int32, off_t, off_t, UInt32) -> Int32
    static let write: UInt32 = 2  // SYNC_FILE_RANGE_WRITE
    static let function: Function? = dlsym(nil, "sync_file_range").map { unsafeBitCast($0, to: Function.self) }
}
#endif
