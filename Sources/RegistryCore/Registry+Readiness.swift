#if canImport(Glibc)
import Glibc
#endif
import GRDB

/// The checks behind `/readyz`.
extension Registry {
    /// A read on a fresh read-only connection to the database file at its configured
    /// path: proves the file there is the registry's database and readable now (an
    /// open pooled connection would keep reading a file that was moved or replaced).
    public func checkDatabaseReadable() async throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(2)
        let queue = try DatabaseQueue(path: paths.database, configuration: configuration)
        defer { try? queue.close() }
        _ = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM schema_migrations") }
    }

    /// Creates, fsyncs and deletes a small file in the data directory, on the blocking pool.
    public func checkStorageWritable() async throws {
        let directory = paths.root
        try await BlockingIO.run {
            let probe = "\(directory)/.readyz-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let fd = Glibc.open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ReadinessProbeError("cannot create \(probe): \(String(cString: strerror(errno)))") }
            defer { unlink(probe) }
            let ok = (Glibc.write(fd, "ok", 2) == 2) && fsync(fd) == 0
            let code = errno
            Glibc.close(fd)
            guard ok else { throw ReadinessProbeError("cannot write \(probe): \(String(cString: strerror(code)))") }
        }
    }
}

public struct ReadinessProbeError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
