import NIOCore
import Synchronization

/// Blob bytes waiting to leave through `sendfile(2)` on one plain HTTP/1 connection.
///
/// Hummingbird's response writer carries only `ByteBuffer`s, so a blob GET writes a
/// one-byte *marker* buffer and registers here what it stands for: a descriptor of its
/// own on the blob file and the byte range. `SendfileHandler`, below the HTTP codec,
/// swaps the marker for `FileRegion`s. A marker is known by its storage (the address
/// of the buffer this table holds), never by its content: a blob whose bytes look like
/// a marker is just bytes. Only connections without TLS have a table (NIOSSL cannot
/// send a `FileRegion`); on the others blobs go out as buffers read from the file.
final class SendfileJobs: Sendable {
    struct Job: Sendable {
        let file: NIOFileHandle
        let range: Range<Int64>
        /// Held so that the marker's storage, and so its address, stays this job's.
        let marker: ByteBuffer
    }

    private let jobs = Mutex<[UInt: Job]>([:])

    /// The marker to write in place of `range` of the file `descriptor` (which the job
    /// owns and closes once sent, or when the connection goes).
    func register(descriptor: Int32, range: Range<Int64>) -> ByteBuffer {
        let marker = ByteBuffer(bytes: [0])
        let job = Job(file: NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor), range: range, marker: marker)
        jobs.withLock { $0[Self.key(marker)] = job }
        return marker
    }

    /// The job `buffer` is the marker of, removed from the table.
    func take(_ buffer: ByteBuffer) -> Job? {
        guard buffer.readableBytes == 1 else { return nil }
        let key = Self.key(buffer)
        return jobs.withLock { jobs in
            guard let job = jobs[key], job.marker.readerIndex == buffer.readerIndex else { return nil }
            jobs[key] = nil
            return job
        }
    }

    /// How many body bytes `buffer`, written on `channel`, stands for: the range of its
    /// job when it is a marker, else its own length (the access log and metrics count
    /// these). Only a one-byte buffer can be a marker, so only one costs a lookup.
    static func bodyLength(of buffer: ByteBuffer, on channel: any Channel) -> Int {
        guard buffer.readableBytes == 1, let jobs = of(channel) else { return buffer.readableBytes }
        let key = Self.key(buffer)
        return jobs.jobs.withLock { $0[key].map { Int($0.range.count) } } ?? buffer.readableBytes
    }

    /// The connection went: nothing left here will be sent.
    func closeAll() {
        let left = jobs.withLock { jobs in
            defer { jobs = [:] }
            return Array(jobs.values)
        }
        for job in left { try? job.file.close() }
    }

    private static func key(_ buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    // MARK: Connections with a table

    private static let byChannel = Mutex<[ObjectIdentifier: SendfileJobs]>([:])

    /// The table of `channel`, when it sends blobs with sendfile.
    static func of(_ channel: any Channel) -> SendfileJobs? {
        byChannel.withLock { $0[ObjectIdentifier(channel)] }
    }

    static func attach(_ jobs: SendfileJobs, to channel: any Channel) {
        byChannel.withLock { $0[ObjectIdentifier(channel)] = jobs }
    }

    static func detach(from channel: any Channel) {
        byChannel.withLock { $0[ObjectIdentifier(channel)] = nil }
    }
}
