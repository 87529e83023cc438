import NIOCore
import NIOHTTP1

/// Sends blob bodies with `sendfile(2)`: between Hummingbird's HTTP codec and NIO's
/// HTTP/1 encoder it swaps each marker buffer registered in `SendfileJobs` for
/// `FileRegion`s of the blob file, so a pull costs no copy into user space and no
/// buffer per client however many pull at once.
///
/// The file goes out `chunkSize` bytes at a time, at most `chunksInFlight` written and
/// not yet sent: the socket never waits for the next chunk, the channel's writability
/// moves with the transfer (the stalled-response check in `ConnectionTimeoutHandler`
/// sees a slow but moving client as moving), and a connection holds a bounded part of
/// the file in NIO's pending writes. Whatever the server writes meanwhile (the
/// response's end, a pipelined response) waits, in order, until the file is sent.
final class SendfileHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    static let chunkSize: Int64 = 4 << 20
    static let chunksInFlight = 2

    private struct Transfer {
        let job: SendfileJobs.Job
        /// Where the next chunk starts.
        var offset: Int64
        var chunksInFlight = 0
        let promise: EventLoopPromise<Void>?
        /// Which transfer a chunk's completion belongs to (a failed transfer ends at its
        /// first failure; the later completions of its chunks must not touch the next).
        let number: Int
    }
    private var transfers = 0
    /// Files of transfers that failed while chunks were still queued in NIO: each is
    /// closed when the last of its chunks completes, never under a queued FileRegion.
    private var draining: [Int: (file: NIOFileHandle, chunks: Int)] = [:]

    let jobs: SendfileJobs
    private var transfer: Transfer?
    private var waiting: [(data: NIOAny, promise: EventLoopPromise<Void>?)] = []
    private var flushWaiting = false

    init(jobs: SendfileJobs) {
        self.jobs = jobs
    }

    func handlerAdded(context: ChannelHandlerContext) {
        SendfileJobs.attach(jobs, to: context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        SendfileJobs.detach(from: context.channel)
        jobs.closeAll()
        // The channel is closed: NIO has failed every queued write, so no FileRegion
        // refers to these files any more.
        if let transfer {
            self.transfer = nil
            try? transfer.job.file.close()
            transfer.promise?.fail(ChannelError.ioOnClosedChannel)
        }
        for (file, _) in draining.values { try? file.close() }
        draining = [:]
        for (_, promise) in waiting { promise?.fail(ChannelError.ioOnClosedChannel) }
        waiting = []
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if transfer != nil {
            waiting.append((data, promise))
            return
        }
        if case .body(.byteBuffer(let buffer)) = unwrapOutboundIn(data), let job = jobs.take(buffer) {
            transfers += 1
            transfer = Transfer(job: job, offset: job.range.lowerBound, promise: promise, number: transfers)
            sendChunks(context: context)
            return
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if transfer != nil {
            flushWaiting = true
        } else {
            context.flush()
        }
    }

    private func sendChunks(context: ChannelHandlerContext) {
        while var transfer, transfer.chunksInFlight < Self.chunksInFlight, transfer.offset < transfer.job.range.upperBound {
            let end = min(transfer.offset + Self.chunkSize, transfer.job.range.upperBound)
            let region = FileRegion(fileHandle: transfer.job.file, readerIndex: Int(transfer.offset), endIndex: Int(end))
            transfer.offset = end
            transfer.chunksInFlight += 1
            self.transfer = transfer
            let sent = context.eventLoop.makePromise(of: Void.self)
            let number = transfer.number
            sent.futureResult.assumeIsolated().whenComplete { result in
                guard var current = self.transfer, current.number == number else {
                    self.drained(number)
                    return
                }
                current.chunksInFlight -= 1
                self.transfer = current
                switch result {
                case .failure(let error):
                    self.finish(context: context, .failure(error))
                case .success where current.offset < current.job.range.upperBound:
                    self.sendChunks(context: context)
                case .success where current.chunksInFlight == 0:
                    self.finish(context: context, .success(()))
                case .success:
                    break
                }
            }
            context.writeAndFlush(wrapOutboundOut(.body(.fileRegion(region))), promise: sent)
        }
    }

    private func drained(_ number: Int) {
        guard var entry = draining[number] else { return }
        entry.chunks -= 1
        if entry.chunks > 0 {
            draining[number] = entry
        } else {
            draining[number] = nil
            try? entry.file.close()
        }
    }

    private func finish(context: ChannelHandlerContext, _ result: Result<Void, any Error>) {
        guard let transfer else { return }
        self.transfer = nil
        if transfer.chunksInFlight > 0 {
            draining[transfer.number] = (transfer.job.file, transfer.chunksInFlight)
        } else {
            try? transfer.job.file.close()
        }
        transfer.promise?.completeWith(result)
        // What waited goes out in order; it may hold the next marker, which starts
        // another transfer and keeps the rest (and the flush) waiting again.
        let resumed = waiting
        waiting = []
        for entry in resumed { write(context: context, data: entry.data, promise: entry.promise) }
        if flushWaiting, self.transfer == nil {
            flushWaiting = false
            context.flush()
        }
    }
}

@available(*, unavailable)
extension SendfileHandler: Sendable {}
