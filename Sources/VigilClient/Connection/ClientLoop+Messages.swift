import Logging
import VigilProtocol

/// The outbox and incoming messages.
extension ClientLoop {
    /// Writes what the outbox lets go now (registered only), in order.
    func flushOutbox() {
        guard self.phase == .registered, let parameters = self.parameters, let link = self.link else { return }
        let now = ContinuousClock.now
        for message in self.outbox.takeWritable(limit: self.settings.maxMessagesInFlight, now: now) {
            let body = Envelope.Body.clientMessage(ClientMessagePayload(content: message.content, recipient: message.recipient, seq: message.seq))
            let frame = self.envelope(body, messageID: message.messageID).encodedFrame(allocator: link.channel.allocator)
            guard frame.readableBytes <= parameters.maxFrameSize else {
                _ = self.outbox.remove(message.messageID)
                self.emit(.messageRefused(message, code: .invalidMessage, reason: "the message is \(frame.readableBytes) bytes as a frame; the server takes at most \(parameters.maxFrameSize)"))
                continue
            }
            link.write(frame)
        }
        if self.retryTimer == nil, let retry = self.outbox.nextRetry {
            self.retryTimer = self.timer(after: max(.zero, retry - now), .retryOutbox)
        }
    }

    /// The server stored one of our messages (or had stored it before).
    func acknowledged(_ ack: MessageAckPayload) {
        guard let message = self.outbox.remove(ack.ackedMessageID) else {
            // An ack for a message acknowledged before (a resend raced with the first ack): nothing to do.
            return
        }
        self.emit(.acknowledged(message, duplicate: ack.status == MessageAckPayload.duplicate))
        self.flushOutbox()
        if self.leaving != nil, self.outbox.isEmpty, self.phase == .registered {
            self.unregister()
        }
    }

    /// The server answered one of our messages with an error.
    func messageRefused(_ messageID: String, _ response: ServerResponsePayload) {
        switch response.code {
        case .rateLimited, .serverBusy:
            // A passing condition: the message waits and goes again (with the same id).
            self.logger.debug("message refused for now; retrying", metadata: ["code": "\(response.code?.rawValue ?? "-")"])
            self.outbox.retry(messageID, notBefore: .now + self.settings.retryRefusedAfter)
        default:
            guard let message = self.outbox.remove(messageID) else { return }
            self.emit(.messageRefused(message, code: response.code, reason: response.message))
        }
        self.flushOutbox()
        if self.leaving != nil, self.outbox.isEmpty, self.phase == .registered {
            self.unregister()
        }
    }

    /// A message for us: acknowledge it (every time: the server resends until it has our ack), report it once.
    func received(_ message: ClientMessagePayload, envelope: Envelope) {
        let sender = envelope.senderID ?? "server"
        guard !self.settings.sendOnly else {
            // The server sends no mail to a send-only connection; should one come anyway, it is
            // left unacknowledged so it stays in the store for the client's own reader.
            self.logger.debug("ignoring a message on a send-only connection", metadata: ["sender": "\(sender.logEscaped)"])
            return
        }
        guard let messageID = envelope.messageID else {
            self.emit(.message(IncomingMessage(sender: sender, messageID: "", content: message.content, recipient: message.recipient, seq: message.seq, kind: message.kind, storedAt: message.storedAt)))
            return
        }
        // Reported before acknowledged: once the server has our ack it will not send it again.
        if self.seen.insert(sender + "\u{0}" + messageID) {
            self.emit(.message(IncomingMessage(sender: sender, messageID: messageID, content: message.content, recipient: message.recipient, seq: message.seq, kind: message.kind, storedAt: message.storedAt)))
        } else {
            self.logger.debug("dropping a message delivered again", metadata: ["sender": "\(sender.logEscaped)", "message_id": "\(messageID.logEscaped)"])
        }
        self.write(.messageAck(MessageAckPayload(ackedMessageID: messageID, ackedSenderID: sender)))
    }
}
