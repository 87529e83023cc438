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
        /// The first failure of a chunk: no more are sent, and the transfer ends (its
        /// file closed, its write failed) once the chunks still queued have completed,
        /// so no FileRegion in NIO's queue ever refers to a closed file.
        var failure: (any Error)?
        let promise: EventLoopPromise<Void>?

        var isComplete: Bool { chunksInFlight == 0 && (failure != nil || offset == job.range.upperBound) }
    }

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
        // refers to the file any more.
        if let transfer {
            self.transfer = nil
            try? transfer.job.file.close()
            transfer.promise?.fail(transfer.failure ?? ChannelError.ioOnClosedChannel)
        }
        for (_, promise) in waiting { promise?.fail(ChannelError.ioOnClosedChannel) }
        waiting = []
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if transfer != nil {
            waiting.append((data, promise))
            return
        }
        if case .body(.byteBuffer(let buffer)) = unwrapOutboundIn(data), let job = jobs.take(buffer) {
            transfer = Transfer(job: job, offset: job.range.lowerBound, promise: promise)
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
        while var transfer, transfer.failure == nil, transfer.chunksInFlight < Self.chunksInFlight,
              transfer.offset < transfer.job.range.upperBound {
            let end = min(transfer.offset + Self.chunkSize, transfer.job.range.upperBound)
            let region = FileRegion(fileHandle: transfer.job.file, readerIndex: Int(transfer.offset), endIndex: Int(end))
            transfer.offset = end
            transfer.chunksInFlight += 1
            self.transfer = transfer
            let sent = context.eventLoop.makePromise(of: Void.self)
            sent.futureResult.assumeIsolated().whenComplete { result in
                // The transfer stays current until its last chunk completes; after
                // handlerRemoved there is none.
                guard var current = self.transfer else { return }
                current.chunksInFlight -= 1
                if case .failure(let error) = result, current.failure == nil { current.failure = error }
                self.transfer = current
                if current.isComplete {
                    self.finish(context: context)
                } else {
                    self.sendChunks(context: context)
                }
            }
            context.writeAndFlush(wrapOutboundOut(.body(.fileRegion(region))), promise: sent)
        }
    }

    private func finish(context: ChannelHandlerContext) {
        guard let transfer else { return }
        self.transfer = nil
        try? transfer.job.file.close()
        if let failure = transfer.failure {
            transfer.promise?.fail(failure)
        } else {
            transfer.promise?.succeed()
        }
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
