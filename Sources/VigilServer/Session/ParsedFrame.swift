import VigilProtocol

/// One frame as the ``SessionFrameParser`` hands it to the session: understood, or not with the
/// reason and the `message_id` it still carried.
enum ParsedFrame: Sendable {
    case frame(InboundFrame)
    /// A frame that arrived whole but could not be used; `readableMessageID` is its `message_id`
    /// when one could still be read (a refusal quotes it, PROTOCOL.md §7).
    case invalid(ProtocolViolation, readableMessageID: String?)

    /// The state machine's event for this frame.
    var event: SessionEvent {
        switch self {
        case .frame(let frame): .frameParsed(frame)
        case .invalid(let violation, let messageID): .parseFailed(violation, readableMessageID: messageID)
        }
    }
}
