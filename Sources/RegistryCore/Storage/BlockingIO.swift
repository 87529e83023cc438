import NIOPosix

/// Where blocking system calls run: a pool of threads of their own, never the Swift
/// concurrency pool. On two cores the cooperative pool has two threads; one of them
/// waiting in `fsync` would stall every manifest GET behind it. (Hummingbird's
/// `FileIO` does the same through NIO's thread pool.) The pool is larger than NIO's
/// singleton, which has one thread per core: several uploads may wait in `fsync` on a
/// slow disk at once, and a pull's next read must not queue behind them. The
/// database's own waits run on GRDB's dispatch queues, so file operations inside a
/// transaction are off the concurrency pool too.
enum BlockingIO {
    static let threadCount = 16

    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
        return pool
    }()

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
