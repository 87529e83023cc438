import OCI

/// Upload sessions open in this process: the file and the running hash of each idle
/// session, and which sessions a request holds right now (one request at a time).
/// The database row is the authority; this cache only saves re-hashing.
actor UploadSessions {
    struct State {
        var file: DiskFile
        var hasher: DigestHasher
        var offset: Int64
    }

    private var idle: [UploadID: State] = [:]
    private var busy: Set<UploadID> = []

    /// Takes the session for one request; returns its cached state if there is one.
    func checkout(_ id: UploadID) throws(RegistryError) -> State? {
        guard busy.insert(id).inserted else {
            throw RegistryError.uploadBusy("another request is writing to upload \(id)")
        }
        return idle.removeValue(forKey: id)
    }

    /// Gives the session back; with a state, the next request continues without re-hashing.
    func checkin(_ id: UploadID, state: State?) {
        busy.remove(id)
        if let state { idle[id] = state }
    }

    /// Forgets a session that is finished or cancelled.
    func remove(_ id: UploadID) {
        busy.remove(id)
        idle.removeValue(forKey: id)
    }

    var count: Int { idle.count + busy.count }
}
