import Foundation
import Logging
import NIOCore
import NIOSSL
import VigilMetrics
import VigilProtocol

extension AgentSessionHandler {
    /// Checks the key off the event loop (it touches the database) and resumes on it.
    func startAuthentication(_ register: RegisterPayload, _ context: ChannelHandlerContext) {
        // Stop reading until the key is checked, so an unauthenticated peer cannot queue frames
        // beyond what the current read already delivered.
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        self.authenticate(register, context.eventLoop).assumeIsolated().whenComplete { result in
            let event: SessionEvent
            switch result {
            case .success(let client):
                if register.kind == .agent, register.capabilities.contains(RegisterPayload.redirectCapability),
                   let redirect = self.environment.redirectAgent(self.environment.registeredSessions.agentCount) {
                    // A cluster member at its capacity: the agent registers with the one named.
                    event = .redirectRequested(to: redirect.address, message: redirect.reason)
                } else {
                    event = .authenticationSucceeded(client)
                }
            case .failure(let error as ProtocolViolation):
                event = .authenticationFailed(error)
            case .failure(let error):
                if self.machine.isAuthenticating {
                    self.logger.error("could not check agent key", metadata: ["error": "\(error)"])
                }
                event = .authenticationUnavailable
            }
            self.perform(self.machine.handle(event), context)
        }
    }

    /// Sets the registered connection up and answers its `CLIENT_REGISTER`.
    func completeRegistration(_ registration: SessionRegistration, _ context: ChannelHandlerContext) {
        let client = registration.client
        let register = registration.register
        self.logger[metadataKey: "host"] = "\(client.clientID)"
        let channel = context.channel
        let handle = ConnectionHandle(id: client.connectionID) { code, message in
            channel.pipeline.fireUserInboundEventTriggered(CloseSessionRequest(code: code, message: message))
        }
        if client.hasLiveness {
            let info = RegistrationInfo(agentVersion: register.agentVersion, protocolVersion: register.protocolVersion, capabilities: register.capabilities, address: context.remoteAddress.map(Self.describe))
            let superseded = self.environment.tracker.register(hostname: client.clientID, connection: handle, info: info, now: .now(), wallNow: Date())
            superseded?.close(.superseded, "another connection registered as \(client.clientID); closing this one")
        }
        let settings = self.environment.live.current
        let (serverID, clientID, protocolVersion) = (self.environment.serverID, client.clientID, register.protocolVersion)
        let clusterServers = self.environment.clusterServers
        let parameters: @Sendable (ServerSettings) -> SessionParameters = { settings in
            let servers = clusterServers()
            return SessionParameters(
                clientID: clientID, hostname: clientID, serverID: serverID,
                protocolVersion: protocolVersion, heartbeatInterval: settings.heartbeatInterval.seconds,
                maxFrameSize: settings.maxFrameSize, metricsInterval: settings.metricsInterval?.seconds,
                servers: servers.isEmpty ? nil : servers
            )
        }
        // A client that can take new parameters on this connection gets them after a reload.
        var update: (@Sendable (ServerSettings) -> Void)?
        if register.capabilities.contains(SessionParameters.updateCapability) {
            update = { settings in
                let envelope = Envelope(.sessionUpdate(parameters(settings)), senderID: "server", timestamp: ServerClock.unixNow, messageID: UUID().uuidString.lowercased())
                channel.writeAndFlush(envelope.encodedFrame(allocator: channel.allocator), promise: nil)
            }
        }
        // Revoking its key (or removing the person) ends it at once.
        // A cluster may move an agent that follows redirects to a less loaded member.
        var redirect: (@Sendable (String, String) -> Void)?
        if client.kind == .agent, register.capabilities.contains(RegisterPayload.redirectCapability) {
            redirect = { address, reason in
                channel.pipeline.fireUserInboundEventTriggered(CloseSessionRequest(code: .redirect, message: reason, redirectTo: address))
            }
        }
        self.environment.registeredSessions.add(handle, keyID: client.keyID, clientID: client.clientID, kind: client.kind, update: update, redirect: redirect)
        self.liveSessionID = client.connectionID
        let link = SessionLink(
            clientID: client.clientID, kind: client.kind, connectionID: client.connectionID, context: context,
            pauseReading: { [unowned self] reason, paused in
                self.perform(self.machine.handle(.readPauseChanged(reason, paused: paused)), context)
            },
            respond: { [unowned self] payload in self.respond(context, payload, thenClose: false) },
            fail: { [unowned self] code, message in self.perform(self.machine.handle(.closeRequested(code, message)), context) }
        )
        self.mailbox = SessionMailbox(service: self.environment.messages, link: link, handle: handle, capabilities: register.capabilities, logger: self.logger)
        self.uploads = SessionUploads(service: self.environment.files, link: link, logger: self.logger)
        self.pushes = SessionPushes(service: self.environment.files, link: link, takesPushes: registration.takesPushes, logger: self.logger)
        let session = parameters(settings)
        self.logger.info(client.kind == .agent ? "agent registered" : "user registered", metadata: [
            "reported_hostname": "\(register.hostname.logEscaped)", "agent_version": "\(register.agentVersion.logEscaped)",
            "protocol_version": "\(register.protocolVersion)",
            "transport": "\((try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) == nil ? "plaintext" : "tls")",
        ])
        self.respond(context, ServerResponsePayload(success: true, message: "registered as \(client.clientID)", inReplyTo: registration.inReplyTo, session: session), thenClose: false)
        // After the reply: whatever waited in the mailbox follows the register answer.
        self.mailbox?.start()
    }

    // MARK: Metrics

    func ingest(_ document: MetricsDocument, hostname: String, inReplyTo messageID: String?, _ context: ChannelHandlerContext) {
        do {
            try self.environment.metrics.ingest(document, hostname: hostname, onStored: Self.metricsAcknowledgement(channel: context.channel, inReplyTo: messageID))
        } catch {
            // A bad value is worth a notice; rate-limited and stale samples repeat every interval,
            // so they are counted (`/api/health`) and logged at debug only.
            self.logger.log(level: error.kind == .invalid ? .notice : .debug, "metrics sample refused", metadata: ["code": "\(error.code.rawValue)", "detail": "\(error.detail.logEscaped)"])
            self.perform(self.machine.handle(.metricsRefused(error.code, error.detail, inReplyTo: messageID)), context)
        }
    }

    /// Answers a `METRICS` frame once its sample is on disk: `SERVER_RESPONSE` with `success: true`
    /// and `in_reply_to` (PROTOCOL.md §4.6), or, when the write failed, a non-fatal `server_busy`
    /// refusal (the sample was not kept; send it again). Runs on the metrics writer's task; a
    /// channel write may come from any thread. A frame without a usable `message_id` has nothing
    /// to match an answer to, so it gets none.
    static func metricsAcknowledgement(channel: any Channel, inReplyTo messageID: String?) -> MetricsIngestor.Completion? {
        guard let messageID else { return nil }
        return { result in
            let frame: ByteBuffer
            switch result {
            case .success:
                frame = MetricsAckFrame.encode(inReplyTo: messageID, serverTime: ServerClock.unixNow, allocator: channel.allocator)
            case .failure(let error):
                let message = StorageCondition.isStorageFull(error)
                    ? "storage_full: the server's disk is full; the sample was not stored, send it again once space returns"
                    : "the server could not store the sample; send it again later"
                let payload = ServerResponsePayload(success: false, message: message, code: .serverBusy, inReplyTo: messageID)
                frame = Envelope(.serverResponse(payload), senderID: "server", timestamp: ServerClock.unixNow, messageID: UUID().uuidString.lowercased())
                    .encodedFrame(allocator: channel.allocator)
            }
            channel.writeAndFlush(frame, promise: nil)
        }
    }
}
