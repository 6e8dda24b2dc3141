import NIOCore
import VigilProtocol

/// Parses each frame payload (the bytes after the length field, from `addVigilFraming`) into a
/// ``ParsedFrame`` for the session: a JSON envelope, a binary file data frame, or the violation
/// that made it unusable with the readable `message_id` of a JSON frame that did not decode.
///
/// Stateless: a frame that cannot be parsed costs that frame only; whether the connection may go
/// on is the session's decision (``SessionStateMachine``).
final class SessionFrameParser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ParsedFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = self.unwrapInboundIn(data)
        let parsed: ParsedFrame
        do {
            parsed = .frame(try InboundFrame.parse(payload))
        } catch {
            parsed = .invalid(error, readableMessageID: Envelope.readableMessageID(in: payload))
        }
        context.fireChannelRead(self.wrapInboundOut(parsed))
    }
}

@available(*, unavailable)
extension SessionFrameParser: Sendable {}
