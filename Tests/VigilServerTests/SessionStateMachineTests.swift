import Foundation
import NIOCore
import Testing
import VigilMetrics
import VigilProtocol
@testable import VigilServer

/// The session's rules, driven through ``SessionStateMachine`` directly: no sockets, no clock.
@Suite("Session state machine")
struct SessionStateMachineTests {
    static let configuration = SessionStateMachine.Configuration(maxConnections: 7, maxProtocolErrors: 2, handshakeTimeout: .seconds(10), idleTimeout: .seconds(30))

    static func admitted() -> SessionStateMachine {
        var machine = SessionStateMachine(configuration: Self.configuration)
        #expect(machine.handle(.connectionAdmitted(connectionID: 42)) == .scheduleHandshakeTimeout)
        #expect(machine.phase == .awaitingRegister)
        return machine
    }

    static func frame(_ body: Envelope.Body, id: String? = nil) -> SessionEvent {
        .frameParsed(.envelope(Envelope(body, messageID: id)))
    }

    static func register(kind: ClientKind = .agent, version: Int = ProtocolVersion.current, capabilities: [String] = ["heartbeat"]) -> RegisterPayload {
        RegisterPayload(key: nil, protocolVersion: version, hostname: "web1", capabilities: capabilities, kind: kind)
    }

    /// A machine registered as `web1` with key `k1`, and the client it registered.
    static func registered(_ register: RegisterPayload = Self.register()) -> (SessionStateMachine, RegisteredClient) {
        var machine = Self.admitted()
        #expect(machine.handle(Self.frame(.clientRegister(register), id: "reg")) == .startAuthentication(register))
        let action = machine.handle(.authenticationSucceeded(AuthenticatedClient(hostname: "web1", keyID: "k1")))
        guard case .completeRegistration(let registration) = action else {
            Issue.record("expected completeRegistration, got \(action)")
            return (machine, RegisteredClient(clientID: "", kind: .agent, connectionID: 0, isLegacy: false))
        }
        #expect(machine.nextQueuedFrame() == nil)
        #expect(machine.handle(.queueReplayed) == .setReading(true))
        return (machine, registration.client)
    }

    static func fatal(_ code: ErrorCode, _ message: String, inReplyTo: String? = nil) -> SessionAction {
        .fail(ServerResponsePayload(success: false, message: message, code: code, inReplyTo: inReplyTo, fatal: true))
    }

    static func refusal(_ code: ErrorCode, _ message: String, inReplyTo: String? = nil) -> SessionAction {
        .refuse(ServerResponsePayload(success: false, message: message, code: code, inReplyTo: inReplyTo))
    }

    // MARK: Admission and handshake

    @Test("a connection over agents.max_connections is answered server_full and closed; it was never counted in")
    func refused() {
        var machine = SessionStateMachine(configuration: Self.configuration)
        #expect(machine.handle(.connectionRefused) == Self.fatal(.serverFull, "server is at its limit of 7 connections; retry later"))
        #expect(machine.isClosing)
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 1)))) == .nothing)
        #expect(machine.handle(.channelInactive) == .tearDown(SessionTeardown(releasesConnection: false, lostAgent: nil, cause: "server_full: server is at its limit of 7 connections; retry later")))
    }

    @Test("the first frame must be CLIENT_REGISTER: anything else is fatal and quotes its message_id")
    func firstFrameMustRegister() {
        var machine = Self.admitted()
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 1)), id: "h1")) == Self.fatal(.notRegistered, "the first frame must be CLIENT_REGISTER, got HEARTBEAT", inReplyTo: "h1"))
        #expect(machine.handle(Self.frame(.clientRegister(Self.register()))) == .nothing)  // nothing more is read
        #expect(machine.handle(.channelInactive) == .tearDown(SessionTeardown(releasesConnection: true, lostAgent: nil, cause: "not_registered: the first frame must be CLIENT_REGISTER, got HEARTBEAT")))
    }

    @Test("before registration, file data and unparsable frames are fatal; a readable message_id is quoted")
    func faultsBeforeRegistrationAreFatal() {
        var data = Self.admitted()
        #expect(data.handle(.frameParsed(.fileData(FileDataFrame(transferID: UUID(), offset: 0, data: ByteBuffer())))) == Self.fatal(.notRegistered, "file data before CLIENT_REGISTER"))
        var invalid = Self.admitted()
        #expect(invalid.handle(.parseFailed(ProtocolViolation(.missingField, "payload.hostname: required"), readableMessageID: "m7")) == Self.fatal(.missingField, "payload.hostname: required", inReplyTo: "m7"))
    }

    @Test("an unsupported protocol version or a register over the limits is refused before the key check")
    func registerChecks() {
        var future = Self.admitted()
        #expect(future.handle(Self.frame(.clientRegister(Self.register(version: 9)), id: "r")) == Self.fatal(.unsupportedVersion, "protocol version 9 is not supported; this server speaks 1...1", inReplyTo: "r"))
        var long = Self.admitted()
        let register = RegisterPayload(key: nil, hostname: String(repeating: "h", count: ProtocolLimits.maxHostnameBytes + 1))
        #expect(long.handle(Self.frame(.clientRegister(register))) == Self.fatal(.invalidField, "payload.hostname: longer than \(ProtocolLimits.maxHostnameBytes) bytes"))
        var legacy = Self.admitted()
        let old = Self.register(version: ProtocolVersion.legacy)
        #expect(legacy.handle(Self.frame(.clientRegister(old))) == .startAuthentication(old))  // version 0 goes to the key check
    }

    @Test("frames during the key check wait, then are replayed in order after the register reply")
    func queuedDuringAuthentication() {
        var machine = Self.admitted()
        let register = Self.register()
        #expect(machine.handle(Self.frame(.clientRegister(register), id: "reg")) == .startAuthentication(register))
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 1)))) == .nothing)
        #expect(machine.handle(.parseFailed(ProtocolViolation(.invalidJSON, "bad"), readableMessageID: "x")) == .nothing)
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 2)))) == .nothing)
        #expect(machine.queuedFrameCount == 3)
        let client = RegisteredClient(clientID: "web1-key", kind: .agent, connectionID: 42, keyID: "k1", isLegacy: false)
        #expect(machine.handle(.authenticationSucceeded(AuthenticatedClient(hostname: "web1-key", keyID: "k1"))) == .completeRegistration(SessionRegistration(client: client, register: register, inReplyTo: "reg")))
        #expect(machine.phase == .registered(client))
        var replayed: [SessionAction] = []
        while let event = machine.nextQueuedFrame() { replayed.append(machine.handle(event)) }
        #expect(replayed == [.acknowledgeHeartbeat(seq: 1, client: client), Self.refusal(.invalidJSON, "bad", inReplyTo: "x"), .acknowledgeHeartbeat(seq: 2, client: client)])
        #expect(machine.handle(.queueReplayed) == .setReading(true))
    }

    @Test("a replay stops at a fatal fault, and reading is not resumed")
    func replayStopsWhenClosing() {
        var machine = Self.admitted()
        _ = machine.handle(Self.frame(.clientRegister(Self.register())))
        _ = machine.handle(Self.frame(.clientUnregister(UnregisterPayload(reason: "bye"))))
        _ = machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 1))))
        guard case .completeRegistration = machine.handle(.authenticationSucceeded(AuthenticatedClient(hostname: "web1"))) else {
            Issue.record("not registered")
            return
        }
        guard let first = machine.nextQueuedFrame(), case .unregister = machine.handle(first) else {
            Issue.record("the first queued frame is the unregister")
            return
        }
        #expect(machine.nextQueuedFrame() == nil)
        #expect(machine.handle(.queueReplayed) == .nothing)
    }

    @Test("a refused key is fatal in reply to the register; a key check that could not run answers internal_error")
    func authenticationFailures() {
        var refused = Self.admitted()
        _ = refused.handle(Self.frame(.clientRegister(Self.register()), id: "reg"))
        #expect(refused.handle(.authenticationFailed(ProtocolViolation(.revokedKey, "key k1 has been revoked"))) == Self.fatal(.revokedKey, "key k1 has been revoked", inReplyTo: "reg"))
        var broken = Self.admitted()
        _ = broken.handle(Self.frame(.clientRegister(Self.register()), id: "reg"))
        #expect(broken.isAuthenticating)
        #expect(broken.handle(.authenticationUnavailable) == Self.fatal(.internalError, "the server could not check the key; retry later", inReplyTo: "reg"))
        // A result that arrives after the connection closed is ignored.
        #expect(broken.handle(.authenticationSucceeded(AuthenticatedClient(hostname: "web1"))) == .nothing)
    }

    @Test("the handshake timer closes a connection that has not registered, and nothing after registration")
    func handshakeTimeout() {
        var waiting = Self.admitted()
        #expect(waiting.handle(.handshakeTimerFired) == Self.fatal(.handshakeTimeout, "no valid CLIENT_REGISTER within 10s of connecting"))
        var checking = Self.admitted()
        _ = checking.handle(Self.frame(.clientRegister(Self.register())))
        #expect(checking.handle(.handshakeTimerFired) == Self.fatal(.handshakeTimeout, "no valid CLIENT_REGISTER within 10s of connecting"))
        var (registered, _) = Self.registered()
        #expect(registered.handle(.handshakeTimerFired) == .nothing)
    }

    // MARK: Registered

    @Test("each message type goes where it belongs")
    func dispatch() {
        var (machine, client) = Self.registered()
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 5)))) == .acknowledgeHeartbeat(seq: 5, client: client))
        let document = MetricsDocument(hostname: "web1", timestamp: Date(timeIntervalSince1970: 1_718_000_000))
        #expect(machine.handle(Self.frame(.metrics(document), id: "m1")) == .ingestMetrics(document, hostname: "web1", inReplyTo: "m1"))
        for body: Envelope.Body in [.clientMessage(ClientMessagePayload(content: "hi", recipient: "bob")), .messageAck(MessageAckPayload(ackedMessageID: "a")), .listClients(ListClientsPayload())] {
            #expect(machine.handle(Self.frame(body, id: "x")) == .passToMailbox(Envelope(body, messageID: "x"), messageID: "x"))
        }
        let id = UUID().uuidString
        let offer = Envelope.Body.fileOffer(FileOfferPayload(transferID: id, filename: "a.txt", size: 1, sha256: String(repeating: "0", count: 64)))
        for body: Envelope.Body in [offer, .end(EndPayload())] {
            #expect(machine.handle(Self.frame(body, id: "f")) == .passToUploads(Envelope(body, messageID: "f"), messageID: "f"))
        }
        let answers: [Envelope.Body] = [
            .fileReady(FileReadyPayload(transferID: id, offset: 0, chunkSize: 1)), .fileReject(FileErrorPayload(transferID: id, code: .fileTooLarge, reason: "no")),
            .fileSaved(FileSavedPayload(transferID: id, fileID: "f1", filename: "a.txt", size: 1, sha256: String(repeating: "0", count: 64))),
            .fileFailed(FileErrorPayload(transferID: id, code: .ioError, reason: "disk")),
        ]
        for body in answers {
            #expect(machine.handle(Self.frame(body, id: "p")) == .passToPushes(Envelope(body, messageID: "p"), messageID: "p"))
        }
        let data = FileDataFrame(transferID: UUID(), offset: 0, data: ByteBuffer(string: "x"))
        #expect(machine.handle(.frameParsed(.fileData(data))) == .passDataToUploads(data))
        #expect(machine.protocolErrors == 0)
    }

    @Test("a message_id over the limit is not quoted")
    func longMessageIDNotQuoted() {
        var (machine, _) = Self.registered()
        let long = String(repeating: "m", count: ProtocolLimits.maxMessageIDBytes + 1)
        #expect(machine.handle(Self.frame(.clientRegister(Self.register()), id: long)) == Self.refusal(.alreadyRegistered, "this connection is already registered as web1"))
    }

    @Test("after registration a bad frame costs that frame only, up to agents.max_protocol_errors; a refused sample is not counted")
    func protocolErrorsCounted() {
        var (machine, _) = Self.registered()
        #expect(machine.handle(Self.frame(.serverResponse(ServerResponsePayload(success: true, message: "?")), id: "s")) == Self.refusal(.unexpectedType, "SERVER_RESPONSE is sent by servers, not clients", inReplyTo: "s"))
        #expect(machine.handle(.metricsRefused(.rateLimited, "too fast", inReplyTo: "m")) == .respond(ServerResponsePayload(success: false, message: "too fast", code: .rateLimited, inReplyTo: "m")))
        #expect(machine.handle(.frameRefused(ProtocolViolation(.unknownTransfer, "no such transfer"), inReplyTo: nil)) == Self.refusal(.unknownTransfer, "no such transfer"))
        #expect(machine.protocolErrors == 2)
        #expect(machine.handle(.parseFailed(ProtocolViolation(.invalidJSON, "not JSON"), readableMessageID: nil)) == Self.fatal(.tooManyErrors, "more than 2 protocol errors on this connection; last: not JSON"))
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 1)))) == .nothing)
    }

    @Test("METRICS from a person's tool is a protocol error; a person has no liveness")
    func userMetrics() {
        var (machine, client) = Self.registered(Self.register(kind: .user))
        #expect(!client.hasLiveness)
        #expect(machine.handle(Self.frame(.metrics(MetricsDocument(timestamp: Date())))) == Self.refusal(.unexpectedType, "METRICS is sent by agents; this connection registered as a user"))
        _ = machine.handle(.closeRequested(.superseded, "another connection"))
        guard case .tearDown(let teardown) = machine.handle(.channelInactive) else { Issue.record("no teardown"); return }
        #expect(teardown.lostAgent == nil)
    }

    @Test("CLIENT_UNREGISTER says goodbye and closes; the tracker hears the unregister, not a lost connection")
    func unregister() {
        var (machine, client) = Self.registered()
        let reason = String(repeating: "é", count: ProtocolLimits.maxReasonBytes)
        guard case .unregister(let who, let cut?, let goodbye) = machine.handle(Self.frame(.clientUnregister(UnregisterPayload(reason: reason)), id: "u")) else {
            Issue.record("no unregister")
            return
        }
        #expect(who == client)
        #expect(cut.utf8.count <= ProtocolLimits.maxReasonBytes && reason.hasPrefix(cut))
        #expect(goodbye == ServerResponsePayload(success: true, message: "goodbye", inReplyTo: "u", fatal: true))
        #expect(machine.handle(Self.frame(.heartbeat(HeartbeatPayload(seq: 9)))) == .nothing)
        #expect(machine.handle(.channelInactive) == .tearDown(SessionTeardown(releasesConnection: true, lostAgent: nil, cause: "unregistered")))
    }

    @Test("a fatal fault after registration keeps the client until the close, so the tracker hears it was lost; one answer only")
    func lostAfterFailure() {
        var (machine, client) = Self.registered()
        #expect(machine.handle(.closeRequested(.superseded, "another connection registered as web1")) == Self.fatal(.superseded, "another connection registered as web1"))
        #expect(machine.phase == .closing(lost: client))
        #expect(machine.handle(.readIdle) == .nothing)
        #expect(machine.handle(.closeRequested(.revokedKey, "key revoked")) == .nothing)
        #expect(machine.handle(.channelInactive) == .tearDown(SessionTeardown(releasesConnection: true, lostAgent: client, cause: "superseded: another connection registered as web1")))
        #expect(client.keyID == "k1")
    }

    @Test("read idle closes a registered connection, but never a version-0 client, which has no heartbeat")
    func idleRule() {
        var (modern, _) = Self.registered()
        #expect(modern.handle(.readIdle) == Self.fatal(.idleTimeout, "no frame for 30s; closing"))
        var (legacy, client) = Self.registered(Self.register(version: ProtocolVersion.legacy))
        #expect(client.isLegacy)
        #expect(legacy.handle(.readIdle) == .nothing)
        var waiting = Self.admitted()
        #expect(waiting.handle(.readIdle) == .nothing)  // the handshake timer covers that phase
    }

    @Test("files are passed on to a current client only: not to a version-0 or a send-only one")
    func takesPushes() {
        let client = RegisteredClient(clientID: "web1", kind: .agent, connectionID: 1, isLegacy: false)
        #expect(SessionRegistration(client: client, register: Self.register()).takesPushes)
        #expect(!SessionRegistration(client: client, register: Self.register(capabilities: [RegisterPayload.sendOnlyCapability])).takesPushes)
        var legacy = client
        legacy.isLegacy = true
        #expect(!SessionRegistration(client: legacy, register: Self.register(version: 0)).takesPushes)
    }

    @Test("reading stops while any reason holds (socket full, disk behind) and resumes when none is left")
    func readPauses() {
        var (machine, _) = Self.registered()
        #expect(machine.handle(.readPauseChanged(.diskBehind, paused: true)) == .setReading(false))
        #expect(machine.handle(.writabilityChanged(isWritable: false)) == .writabilityChanged(setReading: nil))
        #expect(machine.handle(.readPauseChanged(.diskBehind, paused: false)) == .nothing)
        #expect(machine.handle(.writabilityChanged(isWritable: true)) == .writabilityChanged(setReading: true))
        #expect(machine.handle(.writabilityChanged(isWritable: true)) == .writabilityChanged(setReading: nil))
        _ = machine.handle(.quiesce)
        #expect(machine.handle(.writabilityChanged(isWritable: false)) == .nothing)
        #expect(machine.handle(.readPauseChanged(.diskBehind, paused: true)) == .nothing)
    }

    @Test("a pause taken during the replay holds reading after it")
    func pauseDuringReplay() {
        var machine = Self.admitted()
        _ = machine.handle(Self.frame(.clientRegister(Self.register())))
        _ = machine.handle(.authenticationSucceeded(AuthenticatedClient(hostname: "web1")))
        #expect(machine.handle(.readPauseChanged(.diskBehind, paused: true)) == .setReading(false))
        #expect(machine.handle(.queueReplayed) == .nothing)
    }

    @Test("shutdown and broken streams close without an answer; an oversized frame is answered")
    func closes() {
        var (quiescing, client) = Self.registered()
        #expect(quiescing.handle(.quiesce) == .close)
        #expect(quiescing.handle(.channelInactive) == .tearDown(SessionTeardown(releasesConnection: true, lostAgent: client, cause: "server shutting down")))
        var broken = Self.admitted()
        #expect(broken.handle(.connectionFailed(cause: "I/O error: reset")) == .close)
        #expect(broken.handle(.channelInactive) == .tearDown(SessionTeardown(releasesConnection: true, lostAgent: nil, cause: "I/O error: reset")))
        var large = Self.admitted()
        #expect(large.handle(.frameTooLarge("frame of 9 bytes exceeds the maximum of 8 bytes")) == Self.fatal(.frameTooLarge, "frame of 9 bytes exceeds the maximum of 8 bytes"))
    }

    @Test("a redirect asked for during the key check answers the CLIENT_REGISTER with code redirect and redirect_to, then closes")
    func redirectDuringRegistration() {
        var machine = Self.admitted()
        let register = Self.register(capabilities: ["heartbeat", RegisterPayload.redirectCapability])
        #expect(machine.handle(Self.frame(.clientRegister(register), id: "reg")) == .startAuthentication(register))
        #expect(machine.handle(.redirectRequested(to: "b.example:5001", message: "at capacity")) == .fail(ServerResponsePayload(
            success: false, message: "at capacity", code: .redirect, inReplyTo: "reg", fatal: true, redirectTo: "b.example:5001")))
        #expect(machine.handle(.authenticationSucceeded(AuthenticatedClient(hostname: "web1"))) == .nothing)
    }

    @Test("a registered session shed to another member gets a fatal redirect quoting nothing")
    func redirectWhileRegistered() {
        var (machine, _) = Self.registered()
        #expect(machine.handle(.redirectRequested(to: "b:5001", message: "balancing")) == .fail(ServerResponsePayload(
            success: false, message: "balancing", code: .redirect, fatal: true, redirectTo: "b:5001")))
    }
}
