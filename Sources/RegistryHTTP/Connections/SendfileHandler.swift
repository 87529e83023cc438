import NIOCore
import NIOHTTP1

/// Sends blob bodies with `sendfile(2)`: between Hummingbird's HTTP codec and NIO's
/// HTTP/1 encoder it swaps each marker buffer registered in `SendfileJobs` for
/// `FileRegion`s of the blob file, so a pull costs no copy into user space and no
/// buffer per client however many pull at once.
///
/// The file goes out `chunkSize` bytes at a time, the next chunk once the last has
/// left: the channel's writability then moves with the transfer (the stalled-response
/// check in `ConnectionTimeoutHandler` sees a slow but moving client as moving), and a
/// connection holds one chunk in flight. Whatever the server writes meanwhile (the
/// response's end, a pipelined response) waits, in order, until the file is sent.
final class SendfileHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    static let chunkSize: Int64 = 4 << 20

    private struct Transfer {
        let job: SendfileJobs.Job
        var offset: Int64
        let promise: EventLoopPromise<Void>?
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
        if let transfer {
            self.transfer = nil
            try? transfer.job.file.close()
            transfer.promise?.fail(ChannelError.ioOnClosedChannel)
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
            sendChunk(context: context)
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

    private func sendChunk(context: ChannelHandlerContext) {
        guard var transfer else { return }
        let end = min(transfer.offset + Self.chunkSize, transfer.job.range.upperBound)
        let region = FileRegion(fileHandle: transfer.job.file, readerIndex: Int(transfer.offset), endIndex: Int(end))
        transfer.offset = end
        self.transfer = transfer
        let sent = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.body(.fileRegion(region))), promise: sent)
        sent.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success where end < transfer.job.range.upperBound:
                self.sendChunk(context: context)
            case .success:
                self.finish(context: context, .success(()))
            case .failure(let error):
                self.finish(context: context, .failure(error))
            }
        }
    }

    private func finish(context: ChannelHandlerContext, _ result: Result<Void, any Error>) {
        guard let transfer else { return }
        self.transfer = nil
        try? transfer.job.file.close()
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
