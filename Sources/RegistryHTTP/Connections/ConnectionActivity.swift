import NIOCore

/// Where one HTTP/1 connection stands, as its two handlers see it: the bytes
/// (`ConnectionTimeoutHandler`, next to the socket) and the messages
/// (`RequestProgressHandler`, after the HTTP codec). Both run on the connection's
/// event loop, which owns this object.
final class ConnectionActivity {
    enum Phase: Equatable {
        /// No request in progress: an idle keep-alive connection (or a new one).
        case awaitingRequest
        /// The first bytes of a request arrived, its head is not complete.
        case readingHead
        /// The head is in; its body is being read.
        case readingBody
        /// The request is read; the server is answering.
        case responding
    }

    /// What the timeouts decided.
    enum Verdict: Equatable {
        case keep, idle, headTimeout, bodyStalled, sendStalled
    }

    private(set) var phase = Phase.awaitingRequest
    private var phaseStarted: NIODeadline
    /// Since when the server has been asking for bytes without getting any (nil: it
    /// is not asking, because it is busy with what it has: that is not the client's fault).
    private var waitingSince: NIODeadline?
    /// Since when the socket has refused more response bytes (the client is not reading).
    private var unwritableSince: NIODeadline?
    private var requestOpen = false
    private var responsesPending = 0
    /// Body bytes of the current request, for the log line when it is cut.
    private(set) var bodyBytes = 0

    init(now: NIODeadline = .now()) { phaseStarted = now }

    // MARK: Bytes (ConnectionTimeoutHandler)

    func bytesArrived(_ count: Int, now: NIODeadline) {
        waitingSince = nil
        switch phase {
        case .awaitingRequest: enter(.readingHead, now: now)
        case .readingBody: bodyBytes += count
        case .readingHead, .responding: break
        }
    }

    func readRequested(now: NIODeadline) {
        if waitingSince == nil { waitingSince = now }
    }

    func writabilityChanged(writable: Bool, now: NIODeadline) {
        unwritableSince = writable ? nil : (unwritableSince ?? now)
    }

    // MARK: Messages (RequestProgressHandler)

    func requestHeadReceived(now: NIODeadline) {
        requestOpen = true
        responsesPending += 1
        bodyBytes = 0
        enter(.readingBody, now: now)
    }

    func requestEnded(now: NIODeadline) {
        requestOpen = false
        enter(responsesPending > 0 ? .responding : .awaitingRequest, now: now)
    }

    func responseEnded(now: NIODeadline) {
        responsesPending = max(0, responsesPending - 1)
        if responsesPending == 0, !requestOpen { enter(.awaitingRequest, now: now) }
    }

    private func enter(_ next: Phase, now: NIODeadline) {
        phase = next
        phaseStarted = now
    }

    // MARK: Timeouts

    func verdict(now: NIODeadline, idle: TimeAmount, head: TimeAmount, body: TimeAmount) -> Verdict {
        if let since = unwritableSince, now - since >= body, phase != .awaitingRequest { return .sendStalled }
        switch phase {
        case .awaitingRequest:
            return now - phaseStarted >= idle ? .idle : .keep
        case .readingHead:
            return now - phaseStarted >= head ? .headTimeout : .keep
        case .readingBody:
            if let since = waitingSince, now - since >= body { return .bodyStalled }
            return .keep
        case .responding:
            return .keep
        }
    }
}
