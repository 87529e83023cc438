#if canImport(Glibc)
import Glibc
#endif

/// `count` random bytes from the kernel (`/dev/urandom`): fast even in a debug build,
/// so the 64 MiB bodies some tests send do not hog the threads the in-process server
/// shares with them.
public func randomBytes(_ count: Int) -> [UInt8] {
    let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    precondition(fd >= 0, "cannot open /dev/urandom: \(errno)")
    defer { close(fd) }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var done = 0
        while done < count {
            let n = read(fd, buffer.baseAddress! + done, count - done)
            if n < 0 {
                precondition(errno == EINTR, "reading /dev/urandom failed: \(errno)")
                continue
            }
            done += n
        }
        initialized = count
    }
}
