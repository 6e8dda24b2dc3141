import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import VigilProtocol

/// One `GET /api/stream` WebSocket: sign-in by the first message, subscriptions, the writer that
/// drains the client's queue, and the timers (sign-in deadline, session checks).
///
/// Three parts run at once: the reader (this task; the connection lasts as long as it reads), the
/// writer (the client's bounded queue to the socket) and the watchdog. Nothing the reader or the
/// hub does waits for the socket: only the writer does, and a drop cuts the connection under it.
struct StreamConnection {
    let hub: LiveHub
    let verifier: any AccessTokenVerifier
    let settings: StreamSettings
    let logger: Logger

    /// Application close codes (RFC 6455 4000–4999 are the application's).
    static let unauthorized = WebSocketErrorCode.unknown(4001)
    /// "Try again later" (RFC 6455 registry: 1013).
    static let tryAgainLater = WebSocketErrorCode.unknown(1013)

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel) async throws {
        let closer = StreamCloser(outbound: outbound, channel: channel, timeout: self.settings.closeTimeout)
        let identity = StreamIdentity()
        let logger = self.logger
        let address = channel.remoteAddress?.ipAddress ?? "?"
        guard let client = self.hub.open(onDrop: {
            let user = identity.current?.name ?? "-"
            logger.warning("stream client dropped: too slow", metadata: [
                "user": "\(user)", "address": "\(address)",
                "limit": "stream.max_queued_messages=\(self.settings.maxQueuedMessages) stream.max_queued_bytes=\(self.settings.maxQueuedBytes)",
            ])
            closer.close(.policyViolation, reason: "too slow")
        }) else {
            closer.close(Self.tryAgainLater, reason: "too many stream clients (stream.max_clients)")
            for try await _ in inbound {}
            return
        }
        defer { self.hub.close(client) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await Self.write(client, to: outbound) }
            group.addTask { await self.watch(identity, closer: closer) }
            defer { group.cancelAll() }
            try await self.read(inbound, client: client, identity: identity, closer: closer)
        }
        if let user = identity.current {
            logger.debug("stream client left", metadata: ["user": "\(user.name)", "address": "\(address)"])
        }
    }

    // MARK: Writer

    /// Drains the client's queue into the socket until the queue ends or the socket fails.
    static func write(_ client: LiveClient, to outbound: WebSocketOutboundWriter) async {
        while true {
            switch await client.next() {
            case .ended:
                return
            case .messages(let buffers):
                for buffer in buffers {
                    do {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: buffer)))
                    } catch {
                        client.end(.closed)
                        return
                    }
                    client.written(buffer.readableBytes)
                }
            }
        }
    }

    // MARK: Watchdog

    /// Closes with 4001 when no good `auth` came within `stream.auth_timeout`, and when a periodic
    /// check finds the session ended.
    func watch(_ identity: StreamIdentity, closer: StreamCloser) async {
        let clock = ContinuousClock()
        let deadline = clock.now + self.settings.authTimeout
        do {
            while true {
                guard let sessionID = identity.current?.sessionID else {
                    // Not signed in yet: wake at the deadline (or at the next check, whichever is first).
                    guard clock.now < deadline else {
                        closer.close(Self.unauthorized, reason: "authentication timeout: send {\"type\":\"auth\",\"token\":…} first")
                        return
                    }
                    try await Task.sleep(until: min(deadline, clock.now + self.settings.sessionCheckInterval), clock: clock)
                    continue
                }
                try await Task.sleep(for: self.settings.sessionCheckInterval, clock: clock)
                // The session of the newest token (a later `auth` may have brought another).
                if await !self.verifier.isSessionActive(identity.current?.sessionID ?? sessionID) {
                    closer.close(Self.unauthorized, reason: "session ended")
                    return
                }
            }
        } catch {
            return  // cancelled: the connection ended
        }
    }

    // MARK: Reader

    func read(_ inbound: WebSocketInboundStream, client: LiveClient, identity: StreamIdentity, closer: StreamCloser) async throws {
        let decoder = JSONDecoder()
        for try await message in inbound.messages(maxSize: self.settings.maxMessageSize) {
            guard !closer.isClosing else { continue }  // read on only to see the client's close
            guard case .text(let text) = message else {
                self.refuse(client, "invalid_message", "binary messages are not used; send JSON text", identity: identity, closer: closer)
                continue
            }
            guard let request = try? decoder.decode(StreamRequest.self, from: Data(text.utf8)) else {
                self.refuse(client, "invalid_message", "expected a JSON object with a \"type\"", identity: identity, closer: closer)
                continue
            }
            if request.type == "auth" {
                await self.authenticate(request.token, client: client, identity: identity, closer: closer)
                continue
            }
            guard identity.current != nil else {
                closer.close(Self.unauthorized, reason: "authentication required: send {\"type\":\"auth\",\"token\":…} first")
                continue
            }
            switch request.type {
            case "subscribe", "unsubscribe":
                self.change(request, client: client)
            default:
                self.hub.send(StreamOutbound.Failure(error: "unknown_type", detail: "unknown message type \(request.type.prefix(64).debugDescription); expected auth, subscribe or unsubscribe"), to: client)
            }
        }
    }

    /// Before sign-in a bad message closes the stream (4001); after, it is answered with an error.
    private func refuse(_ client: LiveClient, _ code: String, _ detail: String, identity: StreamIdentity, closer: StreamCloser) {
        if identity.current == nil {
            closer.close(Self.unauthorized, reason: "authentication required: send {\"type\":\"auth\",\"token\":…} first")
        } else {
            self.hub.send(StreamOutbound.Failure(error: code, detail: detail), to: client)
        }
    }

    /// Checks a token (the first, or a fresh one later: the session slides to it).
    private func authenticate(_ token: String?, client: LiveClient, identity: StreamIdentity, closer: StreamCloser) async {
        guard let token, !token.isEmpty, let user = await self.verifier.verify(accessToken: token) else {
            closer.close(Self.unauthorized, reason: "invalid token")
            return
        }
        identity.set(user)
        self.hub.send(StreamOutbound.Ready(user), to: client)
    }

    private func change(_ request: StreamRequest, client: LiveClient) {
        let names = request.topics ?? []
        var topics: [LiveTopic] = []
        var unknown: [String] = []
        for name in names {
            if let topic = LiveTopic(name) { topics.append(topic) } else { unknown.append(name) }
        }
        if !unknown.isEmpty {
            let shown = unknown.prefix(5).map { String($0.prefix(80)).debugDescription }.joined(separator: ", ")
            self.hub.send(StreamOutbound.Failure(error: "unknown_topic", detail: "unknown topic \(shown); topics are fleet, events, messages and host:<name>"), to: client)
        }
        guard !topics.isEmpty || unknown.isEmpty else { return }
        if request.type == "subscribe" {
            do {
                let now = try self.hub.subscribe(client, to: topics)
                self.hub.send(StreamOutbound.Subscribed(topics: now), to: client)
            } catch {
                self.hub.send(StreamOutbound.Failure(error: "too_many_topics", detail: "at most \(error.limit) topics per connection (stream.max_topics)"), to: client)
            }
        } else {
            self.hub.send(StreamOutbound.Subscribed(topics: self.hub.unsubscribe(client, from: topics)), to: client)
        }
    }
}
