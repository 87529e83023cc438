import OCI

/// Upload sessions open in this process: the file and the running hash of each idle
/// session, and which sessions a request holds right now (one request at a time).
/// The database row is the authority; this cache only saves re-hashing.
///
/// An idle session keeps its file open, so a session a client abandons would hold its
/// disk blocks until restart once GC (perhaps `registry-gc`, in another process)
/// unlinks the file. Sessions idle for `evictionAge` are therefore closed and dropped
/// from the cache (at most once a second, on checkin, and from `evictIdle` that the
/// server's audit service calls every second); a request that comes back later
/// resumes from the database row and the file, at the cost of hashing it again.
/// At most `maxIdleFiles` idle sessions keep a file open: past that the longest idle
/// one is closed, so abandoned sessions cannot take the process's descriptors.
actor UploadSessions {
    struct State {
        var file: DiskFile
        var hasher: DigestHasher
        var offset: Int64
    }

    private struct Idle {
        var state: State
        var since: ContinuousClock.Instant
    }

    /// How long an idle session keeps its file open.
    let evictionAge: Duration
    /// How many idle sessions keep their file open at most.
    let maxIdleFiles: Int
    private var idle: [UploadID: Idle] = [:]
    private var busy: Set<UploadID> = []
    private var lastSweep = ContinuousClock.now

    init(evictionAge: Duration = .seconds(60), maxIdleFiles: Int = 64) {
        self.evictionAge = evictionAge
        self.maxIdleFiles = maxIdleFiles
    }

    /// Takes the session for one request; returns its cached state if there is one.
    func checkout(_ id: UploadID) throws(RegistryError) -> State? {
        guard busy.insert(id).inserted else {
            throw RegistryError.uploadBusy("another request is writing to upload \(id)")
        }
        return idle.removeValue(forKey: id)?.state
    }

    /// Gives the session back; with a state, the next request continues without re-hashing.
    func checkin(_ id: UploadID, state: State?) {
        busy.remove(id)
        let now = ContinuousClock.now
        if let state {
            idle[id] = Idle(state: state, since: now)
            if idle.count > maxIdleFiles, let oldest = idle.min(by: { $0.value.since < $1.value.since }) {
                oldest.value.state.file.close()
                idle.removeValue(forKey: oldest.key)
            }
        }
        if now - lastSweep >= .seconds(1) { evictIdle(olderThan: evictionAge) }
    }

    /// Forgets a session that is finished or cancelled.
    func remove(_ id: UploadID) {
        busy.remove(id)
        idle.removeValue(forKey: id)
    }

    /// Closes the files of the sessions idle for `age` or longer and forgets them.
    /// Returns how many were closed.
    @discardableResult
    func evictIdle(olderThan age: Duration) -> Int {
        let now = ContinuousClock.now
        lastSweep = now
        let stale = idle.filter { now - $0.value.since >= age }
        for (id, entry) in stale {
            entry.state.file.close()
            idle.removeValue(forKey: id)
        }
        return stale.count
    }

    var count: Int { idle.count + busy.count }
}
