/// Where a long maintenance run (GC, check, backup) reports what it is doing, as one
/// line of text at a time. Asynchronous, so a caller may pause the run at a step
/// (tests do) without blocking a thread of the concurrency pool.
public typealias ProgressHandler = @Sendable (String) async -> Void
