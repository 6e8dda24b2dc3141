#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import VigilProtocol

/// The discovery socket's handler: each datagram goes through ``DiscoveryResponder``; an answer
/// goes back to the sender's address, within `cluster.discovery_max_replies_per_second`.
///
/// Its state lives on the channel's event loop (a handler is only called there).
final class DiscoveryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let responder: DiscoveryResponder
    private let view: @Sendable () -> DiscoveryResponder.View
    private let maxRepliesPerSecond: Double
    private var replies: TokenBucket
    private var ignoredLog: DiscoveryLogThrottle
    private var refusedLog: DiscoveryLogThrottle
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameters:
    ///   - view: This server's view of its cluster, read for each datagram.
    ///   - now: The clock for the reply budget and the log throttle (tests step it).
    init(settings: DiscoverySettings, view: @escaping @Sendable () -> DiscoveryResponder.View, logger: Logger,
         now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.responder = DiscoveryResponder(maxDatagramBytes: settings.maxDatagramBytes)
        self.view = view
        self.maxRepliesPerSecond = Double(settings.maxRepliesPerSecond)
        self.replies = TokenBucket(burst: Double(settings.maxRepliesPerSecond), now: now())
        self.ignoredLog = DiscoveryLogThrottle(interval: settings.logInterval)
        self.refusedLog = DiscoveryLogThrottle(interval: settings.logInterval)
        self.logger = logger
        self.now = now
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let datagram = self.unwrapInboundIn(data)
        let peer = datagram.remoteAddress
        switch self.responder.decide(datagram.data, view: self.view(), now: Date(), replyID: UUID().uuidString.lowercased()) {
        case .answer(let answer):
            let now = self.now()
            guard self.replies.take(rate: self.maxRepliesPerSecond, burst: self.maxRepliesPerSecond, now: now) == nil else {
                if let heldBack = self.refusedLog.admit(now: now) {
                    self.logger.notice("discovery: answers over cluster.discovery_max_replies_per_second, not answering", metadata: [
                        "peer": "\(peer)", "unanswered_since_last_line": "\(heldBack)",
                    ])
                }
                return
            }
            if case .announce(let payload) = answer.body {
                self.logger.debug("discovery: announced a member", metadata: ["peer": "\(peer)", "member": "\(payload.serverID.logEscaped)"])
            }
            context.writeAndFlush(self.wrapOutboundOut(AddressedEnvelope(remoteAddress: peer, data: answer.encoded(allocator: context.channel.allocator))), promise: nil)
        case .silent(.follower):
            break  // the leader answers
        case .silent(let reason):
            self.logIgnored("discovery: not answering", ["peer": "\(peer)", "reason": "\("\(reason)".logEscaped)"])
        case .ignored(let violation):
            // The detail quotes the peer's text (an unknown type): escaped, as everything a peer chose.
            self.logIgnored("discovery: ignored a datagram", ["peer": "\(peer)", "code": "\(violation.code.rawValue)", "detail": "\(violation.detail.logEscaped)"])
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A datagram socket's errors (an ICMP unreachable for an earlier answer) do not end the service.
        self.logIgnored("discovery: socket error", ["error": "\(error)"])
    }

    private func logIgnored(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        guard let heldBack = self.ignoredLog.admit(now: self.now()) else { return }
        var metadata = metadata
        metadata["ignored_since_last_line"] = "\(heldBack)"
        self.logger.notice(message, metadata: metadata)
    }
}
