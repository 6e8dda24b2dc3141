import VigilProtocol

/// The protocol of one agent connection, as a value: events in, actions out. It owns no channel,
/// clock or I/O, so every rule is tested by driving it directly (`SessionStateMachineTests`);
/// ``AgentSessionHandler`` feeds it and carries its actions out.
///
/// Order of a session: `CLIENT_REGISTER` (within `agents.handshake_timeout` of accept) → the key is
/// checked (frames that arrive meanwhile are queued, in order) → success reply → heartbeats, each
/// acknowledged → `CLIENT_UNREGISTER` or close. Before registration any fault is fatal (answer,
/// then close); after it, a fault in one frame costs only that frame, up to
/// `agents.max_protocol_errors`.
struct SessionStateMachine {
    /// The limits the rules need, from ``ServerSettings``.
    struct Configuration: Sendable {
        var maxConnections: Int
        var maxProtocolErrors: Int
        var handshakeTimeout: Duration
        var idleTimeout: Duration

        init(maxConnections: Int, maxProtocolErrors: Int, handshakeTimeout: Duration, idleTimeout: Duration) {
            self.maxConnections = maxConnections
            self.maxProtocolErrors = maxProtocolErrors
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
        }

        init(settings: ServerSettings) {
            self.init(maxConnections: settings.maxConnections, maxProtocolErrors: settings.maxProtocolErrors,
                      handshakeTimeout: settings.handshakeTimeout, idleTimeout: settings.idleTimeout)
        }
    }

    enum Phase: Equatable, Sendable {
        /// Not yet counted in.
        case connecting
        case awaitingRegister
        /// The key is being checked off the loop; frames that arrive meanwhile wait in order.
        case authenticating(register: RegisterPayload, inReplyTo: String?)
        case registered(RegisteredClient)
        /// A fatal answer is on its way, or the connection is closing: nothing more is read or
        /// answered. `lost` is the client whose tracker entry must hear of the close (a registered
        /// client that did not say goodbye).
        case closing(lost: RegisteredClient?)
    }

    let configuration: Configuration
    var phase = Phase.connecting
    private(set) var connectionID: UInt64?
    /// Protocol errors after registration; past `agents.max_protocol_errors` the connection closes.
    private(set) var protocolErrors = 0
    var closeCause = "closed by peer"
    /// Reasons reading is paused for; reading resumes when none is left.
    private(set) var readPauses: Set<ReadPause> = []
    /// Frames that arrived during the key check, in order.
    private var queued: [ParsedFrame] = []
    /// The queued frames being replayed after registration, in reverse order (the next one last).
    private var replaying: [ParsedFrame] = []

    /// Frames waiting for the key check (for tests and diagnostics).
    var queuedFrameCount: Int { self.queued.count }

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    var isClosing: Bool {
        if case .closing = self.phase { return true }
        return false
    }

    var isAuthenticating: Bool {
        if case .authenticating = self.phase { return true }
        return false
    }

    /// The registered client, while registered and not closing.
    var registeredClient: RegisteredClient? {
        if case .registered(let client) = self.phase { return client }
        return nil
    }

    /// After ``SessionAction/completeRegistration(_:)``: the next frame queued during the key check,
    /// as an event to handle; `nil` once none is left or the connection is closing.
    mutating func nextQueuedFrame() -> SessionEvent? {
        guard case .registered = self.phase, let frame = self.replaying.popLast() else {
            self.replaying.removeAll()
            return nil
        }
        return frame.event
    }

    mutating func handle(_ event: SessionEvent) -> SessionAction {
        switch event {
        case .connectionAdmitted(let id):
            guard case .connecting = self.phase else { return .nothing }
            self.connectionID = id
            self.phase = .awaitingRegister
            return .scheduleHandshakeTimeout
        case .connectionRefused:
            return self.fail(.serverFull, "server is at its limit of \(self.configuration.maxConnections) connections; retry later", inReplyTo: nil)
        case .frameParsed(let frame):
            return self.received(.frame(frame))
        case .parseFailed(let violation, let messageID):
            return self.received(.invalid(violation, readableMessageID: messageID))
        case .authenticationSucceeded(let client):
            return self.authenticated(client)
        case .authenticationFailed(let violation):
            guard case .authenticating(_, let inReplyTo) = self.phase else { return .nothing }  // closed meanwhile
            return self.fail(violation.code, violation.detail, inReplyTo: inReplyTo)
        case .authenticationUnavailable:
            guard case .authenticating(_, let inReplyTo) = self.phase else { return .nothing }
            return self.fail(.internalError, "the server could not check the key; retry later", inReplyTo: inReplyTo)
        case .handshakeTimerFired:
            switch self.phase {
            case .connecting, .awaitingRegister, .authenticating:
                return self.fail(.handshakeTimeout, "no valid CLIENT_REGISTER within \(self.configuration.handshakeTimeout.compactDescription) of connecting", inReplyTo: nil)
            case .registered, .closing:
                return .nothing
            }
        case .readIdle:
            // A version-0 client has no heartbeat to send: it is not closed for being quiet
            // (TCP keep-alive finds a dead one).
            guard let client = self.registeredClient, !client.isLegacy else { return .nothing }
            return self.fail(.idleTimeout, "no frame for \(self.configuration.idleTimeout.compactDescription); closing", inReplyTo: nil)
        case .closeRequested(let code, let message):
            return self.fail(code, message, inReplyTo: nil)
        case .redirectRequested(let address, let message):
            // At registration the answer quotes the CLIENT_REGISTER, as any register reply does.
            var inReplyTo: String?
            if case .authenticating(_, let messageID) = self.phase { inReplyTo = messageID }
            return self.fail(.redirect, message, inReplyTo: inReplyTo, redirectTo: address)
        case .frameRefused(let violation, let inReplyTo):
            return self.violation(violation, inReplyTo: inReplyTo)
        case .metricsRefused(let code, let detail, let inReplyTo):
            // A refused sample is not a protocol error: the agent did nothing wrong in framing, so
            // it is answered but not counted toward agents.max_protocol_errors.
            guard self.registeredClient != nil else { return .nothing }
            return .respond(ServerResponsePayload(success: false, message: detail, code: code, inReplyTo: inReplyTo))
        case .readPauseChanged(let reason, let paused):
            return self.pauseReading(reason, paused).map(SessionAction.setReading) ?? .nothing
        case .queueReplayed:
            // Unless a queued frame already paused reading (a file transfer's disk behind, say).
            guard self.registeredClient != nil, self.readPauses.isEmpty else { return .nothing }
            return .setReading(true)
        case .writabilityChanged(let isWritable):
            // A peer that sends but does not read would make its answers pile up in memory: while
            // the socket cannot take more, stop reading from it.
            guard self.registeredClient != nil else { return .nothing }
            return .writabilityChanged(setReading: self.pauseReading(.outboundFull, !isWritable))
        case .frameTooLarge(let description):
            return self.fail(.frameTooLarge, description, inReplyTo: nil)
        case .connectionFailed(let cause):
            self.closeCause = cause
            self.enterClosing()
            return .close
        case .quiesce:
            // The server is shutting down: leave without an answer; agents reconnect to it or another.
            self.closeCause = "server shutting down"
            self.enterClosing()
            return .close
        case .channelInactive:
            let lost: RegisteredClient?
            switch self.phase {
            case .registered(let client): lost = client
            case .closing(let client): lost = client
            case .connecting, .awaitingRegister, .authenticating: lost = nil
            }
            let teardown = SessionTeardown(releasesConnection: self.connectionID != nil, lostAgent: lost.flatMap { $0.hasLiveness ? $0 : nil }, cause: self.closeCause)
            self.connectionID = nil
            self.phase = .closing(lost: nil)
            self.queued.removeAll()
            self.replaying.removeAll()
            return .tearDown(teardown)
        }
    }

    // MARK: Frames

    private mutating func received(_ frame: ParsedFrame) -> SessionAction {
        switch self.phase {
        case .connecting, .closing:
            return .nothing
        case .authenticating:
            self.queued.append(frame)
            return .nothing
        case .awaitingRegister:
            return self.receivedBeforeRegistration(frame)
        case .registered(let client):
            return self.receivedWhileRegistered(frame, client)
        }
    }

    private mutating func receivedBeforeRegistration(_ frame: ParsedFrame) -> SessionAction {
        switch frame {
        case .invalid(let violation, let messageID):
            return self.fail(violation.code, violation.detail, inReplyTo: messageID)
        case .frame(.fileData):
            return self.fail(.notRegistered, "file data before CLIENT_REGISTER", inReplyTo: nil)
        case .frame(.envelope(let envelope)):
            let messageID = Self.usableMessageID(envelope)
            guard case .clientRegister(let register) = envelope.body else {
                return self.fail(.notRegistered, "the first frame must be CLIENT_REGISTER, got \(envelope.type.rawValue)", inReplyTo: messageID)
            }
            if let violation = register.limitViolation {
                return self.fail(violation.code, violation.detail, inReplyTo: messageID)
            }
            // Version 0 is checked with the identity: the authenticator admits it or answers as before it existed.
            let supported = ProtocolVersion.supported
            guard supported.contains(register.protocolVersion) || register.protocolVersion == ProtocolVersion.legacy else {
                return self.fail(.unsupportedVersion, "protocol version \(register.protocolVersion) is not supported; this server speaks \(supported.lowerBound)...\(supported.upperBound)", inReplyTo: messageID)
            }
            self.phase = .authenticating(register: register, inReplyTo: messageID)
            return .startAuthentication(register)
        }
    }

    private mutating func authenticated(_ authenticated: AuthenticatedClient) -> SessionAction {
        guard case .authenticating(let register, let inReplyTo) = self.phase, let id = self.connectionID else { return .nothing }  // closed meanwhile
        let client = RegisteredClient(
            clientID: authenticated.hostname, kind: register.kind, connectionID: id, keyID: authenticated.keyID,
            isLegacy: register.protocolVersion == ProtocolVersion.legacy
        )
        self.phase = .registered(client)
        // The queued frames first, then more reading: order is kept without relying on when NIO reads.
        self.replaying = self.queued.reversed()
        self.queued.removeAll()
        return .completeRegistration(SessionRegistration(client: client, register: register, inReplyTo: inReplyTo))
    }

    /// A `message_id` a reply may quote: at most `ProtocolLimits.maxMessageIDBytes`.
    static func usableMessageID(_ envelope: Envelope) -> String? {
        envelope.messageID.flatMap { $0.utf8.count <= ProtocolLimits.maxMessageIDBytes ? $0 : nil }
    }

    // MARK: Errors

    /// A frame that could not be used. Fatal before registration; counted after it.
    mutating func violation(_ violation: ProtocolViolation, inReplyTo messageID: String?) -> SessionAction {
        guard case .registered = self.phase else {
            return self.fail(violation.code, violation.detail, inReplyTo: messageID)
        }
        self.protocolErrors += 1
        let limit = self.configuration.maxProtocolErrors
        if self.protocolErrors > limit {
            return self.fail(.tooManyErrors, "more than \(limit) protocol errors on this connection; last: \(violation.detail)", inReplyTo: messageID)
        }
        return .refuse(ServerResponsePayload(success: false, message: violation.detail, code: violation.code, inReplyTo: messageID))
    }

    /// Answers with a fatal error and closes once the answer is written; nothing more is read.
    mutating func fail(_ code: ErrorCode, _ message: String, inReplyTo messageID: String?, redirectTo: String? = nil) -> SessionAction {
        guard !self.isClosing else { return .nothing }
        self.closeCause = "\(code.rawValue): \(message)"
        // A registered client is kept until the close, so the tracker hears the host was lost.
        self.enterClosing()
        return .fail(ServerResponsePayload(success: false, message: message, code: code, inReplyTo: messageID, fatal: true, redirectTo: redirectTo))
    }

    private mutating func enterClosing() {
        switch self.phase {
        case .registered(let client): self.phase = .closing(lost: client)
        case .closing: break
        case .connecting, .awaitingRegister, .authenticating: self.phase = .closing(lost: nil)
        }
        self.queued.removeAll()
        self.replaying.removeAll()
    }

    /// Stops or resumes reading for one reason; returns the socket's new reading state when it changes.
    private mutating func pauseReading(_ reason: ReadPause, _ paused: Bool) -> Bool? {
        let wasPaused = !self.readPauses.isEmpty
        if paused { self.readPauses.insert(reason) } else { self.readPauses.remove(reason) }
        guard wasPaused != !self.readPauses.isEmpty, !self.isClosing else { return nil }
        return self.readPauses.isEmpty
    }
}
