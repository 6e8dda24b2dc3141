#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOPosix
import VigilConnection
import VigilProtocol

/// Connecting, registering, heartbeats, reconnecting and leaving.
extension ClientLoop {
    /// Where the client may connect: the configured server first, then the other configured ones,
    /// then the cluster members the last register reply named.
    var servers: [ServerAddress] {
        ServerAddress.candidates(configured: [ServerAddress(host: self.settings.host, port: self.settings.port)] + self.settings.otherServers,
                                 learned: self.learnedServers)
    }

    /// The server the current (or next) connection goes to.
    var currentServer: ServerAddress {
        let servers = self.servers
        return servers[self.serverIndex % servers.count]
    }

    /// Opens a new connection; its task reports `.connected`, each frame, and `.closed`.
    func connect() {
        self.generation += 1
        self.phase = .connecting
        self.closeReason = nil
        let generation = self.generation
        let sink = self.connection.inputSink
        let settings = self.settings
        let group = self.connection.group
        let dialer: ServerDialer
        switch self.dialer {
        case .success(let built):
            dialer = built
        case .failure(let error):
            self.logger.error("cannot set up TLS", metadata: ["error": "\(error)"])
            self.stop(.refused(code: nil, message: "cannot set up TLS: \(error)"))
            return
        }
        let server = self.currentServer
        self.logger.debug("connecting", metadata: ["server": "\(server)"])
        Task {
            do {
                // TCP, TLS pinned to the server's CA when configured, framing.
                let channel = try await dialer.connect(to: server, group: group)
                try await channel.executeThenClose { inbound, outbound in
                    let link = ConnectionLink(generation: generation, channel: channel.channel, outbound: outbound)
                    // The client has stopped meanwhile: leave at once (executeThenClose closes).
                    if case .terminated = sink.yield(.connected(generation, link)) { return }
                    for try await frame in inbound {
                        if case .terminated = sink.yield(.frame(generation, frame)) { return }
                    }
                }
                sink.yield(.closed(generation, nil))
            } catch let failure as TLSFailure where failure.isPermanentRefusal {
                sink.yield(.refusedByTLS(generation, failure.description))
            } catch {
                sink.yield(.closed(generation, ConnectionFailure.describe(error, connectingTo: "\(server)")))
            }
        }
    }

    func connected(_ link: ConnectionLink) {
        self.link = link
        self.phase = .registering
        self.heartbeatSeq = 0
        self.heartbeatsAcked = 0
        self.write(.clientRegister(RegisterPayload(
            key: self.settings.key, hostname: self.settings.name, capabilities: self.registerCapabilities,
            agentVersion: self.settings.clientVersion, kind: .user
        )))
        self.sessionTimers.append(self.timer(after: self.settings.registerTimeout, .registerDeadline(self.generation)))
    }

    /// The capabilities announced: the settings', plus `send_only` for a send-only client.
    var registerCapabilities: [String] {
        var capabilities = self.settings.capabilities
        if self.settings.sendOnly, !capabilities.contains(RegisterPayload.sendOnlyCapability) {
            capabilities.append(RegisterPayload.sendOnlyCapability)
        }
        return capabilities
    }

    /// The register reply.
    func registerAnswered(_ response: ServerResponsePayload) {
        guard response.success, let session = response.session else {
            if response.code?.isPermanentRefusal ?? false {
                self.logger.error("registration refused", metadata: ["code": "\(response.code?.rawValue ?? "-")", "message": "\(response.message.logEscaped)"])
                self.stop(.refused(code: response.code, message: response.message))
            } else {
                self.close(because: "registration refused (\(response.code?.rawValue ?? "no code")): \(response.message)")
            }
            return
        }
        self.phase = .registered
        self.parameters = session
        self.learnedServers = (session.servers ?? []).compactMap(ServerAddress.init(parsing:))
        self.registeredAt = .now
        self.disconnectedSince = nil
        self.logger.debug("registered", metadata: ["as": "\(session.clientID)", "heartbeat_interval": "\(session.heartbeatInterval)"])
        self.emit(.registered(session))
        let interval = self.heartbeatInterval(session.heartbeatInterval)
        let generation = self.generation
        let sink = self.connection.inputSink
        // The first heartbeat goes out at once, then one per interval.
        self.sessionTimers.append(Task {
            while !Task.isCancelled {
                sink.yield(.tick(generation))
                try? await Task.sleep(for: interval)
            }
        })
        if let registered = self.registeredLink {
            self.registeredWaiters.forEach { $0.resume(returning: registered) }
            self.registeredWaiters = []
        }
        self.flushOutbox()
        if self.leaving != nil, self.outbox.isEmpty || self.leaving.map({ ContinuousClock.now >= $0.deadline }) == true {
            self.unregister()
        }
    }

    func heartbeat() {
        let unacknowledged = Int(clamping: self.heartbeatSeq - self.heartbeatsAcked)
        if unacknowledged >= self.settings.maxUnacknowledgedHeartbeats {
            self.close(because: "\(unacknowledged) heartbeats unacknowledged; the server is unreachable")
            return
        }
        self.heartbeatSeq += 1
        self.write(.heartbeat(HeartbeatPayload(seq: self.heartbeatSeq)))
    }

    /// Closes the current connection; `.closed` follows and the client reconnects (or stops).
    func close(because reason: String) {
        self.closeReason = self.closeReason ?? reason
        self.link?.channel.close(promise: nil)
    }

    /// The connection is gone (or could not be made).
    func sessionEnded(reason: String) {
        self.sessionTimers.forEach { $0.cancel() }
        self.sessionTimers = []
        let wasRegistered = self.phase == .registered || self.phase == .unregistering
        let lasted = self.registeredAt.map { ContinuousClock.now - $0 >= self.settings.backoffResetAfter } ?? false
        let wasUnregistering = self.phase == .unregistering
        self.link = nil
        self.parameters = nil
        self.registeredAt = nil
        self.phase = .idle
        self.outbox.connectionLost()
        self.listRequests = []
        self.failCalls(with: .connectionLost(reason))
        if wasUnregistering {
            self.stop(.left(unsent: self.outbox.count))
            return
        }
        if let exit = self.pendingExit {
            self.stop(exit)
            return
        }
        let now = ContinuousClock.now
        if let leaving = self.leaving, self.outbox.isEmpty || now >= leaving.deadline {
            self.stop(.left(unsent: self.outbox.count))
            return
        }
        if wasRegistered {
            self.disconnectedSince = now
            if lasted { self.backoff.reset() }
        }
        // Another server next: after a session that lasted, one of the others at random (its
        // server probably died; a cluster's clients spread over the rest) and at once; after a
        // failed attempt, the next in the list.
        let servers = self.servers
        var delay: Duration?
        if servers.count > 1 {
            let current = self.currentServer
            if wasRegistered && lasted {
                self.serverIndex = ServerAddress.failoverIndex(after: current, in: servers)
                delay = .zero
            } else if !wasRegistered {
                self.serverIndex += 1
            }
        }
        if let giveUp = self.settings.giveUpAfter, let since = self.disconnectedSince, now - since >= giveUp {
            self.stop(.gaveUp("no connection to \(self.settings.host):\(self.settings.port) for \(giveUp): \(reason)"))
            return
        }
        let wait = delay ?? self.backoff.next()
        self.logger.debug("connection ended", metadata: ["reason": "\(reason)", "retry_in": "\(wait)", "next_server": "\(self.currentServer)"])
        self.emit(.disconnected(reason: reason, retryIn: wait))
        self.reconnectTimer?.cancel()
        self.reconnectTimer = self.timer(after: wait, .reconnect)
    }

    func leave(reason: String, drainTimeout: Duration) {
        guard self.leaving == nil else { return }
        self.leaving = (reason, ContinuousClock.now + drainTimeout)
        switch self.phase {
        case .idle, .connecting:
            if self.outbox.isEmpty || drainTimeout <= .zero {
                self.stop(.left(unsent: self.outbox.count))
            } else {
                self.drainTimer = self.timer(after: drainTimeout, .drainDeadline)
            }
        case .registering:
            // The server may register us any moment: wait for its answer (bounded), then leave cleanly.
            let wait = self.outbox.isEmpty ? self.settings.unregisterTimeout : max(drainTimeout, self.settings.unregisterTimeout)
            self.drainTimer = self.timer(after: wait, .drainDeadline)
        case .registered:
            if self.outbox.isEmpty || drainTimeout <= .zero {
                self.unregister()
            } else {
                self.drainTimer = self.timer(after: drainTimeout, .drainDeadline)
            }
        case .unregistering:
            break
        }
    }

    /// Sends `CLIENT_UNREGISTER`; the goodbye (or its deadline, or the close) stops the client.
    func unregister() {
        guard self.phase == .registered else {
            self.stop(.left(unsent: self.outbox.count))
            return
        }
        self.phase = .unregistering
        self.write(.clientUnregister(UnregisterPayload(reason: self.leaving?.reason ?? "user left")))
        self.sessionTimers.append(self.timer(after: self.settings.unregisterTimeout, .unregisterDeadline(self.generation)))
    }

    /// The server's interval, clamped to the settings' range.
    func heartbeatInterval(_ seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return self.settings.defaultHeartbeatInterval }
        let range = self.settings.heartbeatIntervalRange
        let bounded = min(max(seconds, range.lowerBound.seconds), range.upperBound.seconds)
        return .milliseconds(Int64(bounded * 1000))
    }
}
