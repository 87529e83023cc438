#if canImport(Glibc)
import Glibc
#endif

/// Whole-file copies for the rare path that cannot link or rename: a backup to another
/// file system.
enum FileCopy {
    /// Copies in 1 MiB chunks to a temporary name, syncs, then renames into place,
    /// so a file under its digest name is always complete.
    static func copy(_ from: String, _ to: String) throws {
        let partial = to + ".partial"
        do {
            let input = try DiskFile.open(from, flags: O_RDONLY)
            defer { input.close() }
            let output = try DiskFile.open(partial, flags: O_WRONLY | O_CREAT | O_TRUNC)
            defer { output.close() }
            try input.readChunks { try output.writeAll($0) }
            try output.sync()
        } catch {
            unlink(partial)
            throw FileCopyError("copy \(from) to \(to): \(error)")
        }
        guard rename(partial, to) == 0 else { throw FileCopyError("rename \(partial): \(String(cString: strerror(errno)))") }
    }
}

struct FileCopyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
