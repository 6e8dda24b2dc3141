/// Errors in the framing layer: the byte stream cannot be split into frames any more.
///
/// After any of these the stream is out of step, so the connection must be closed.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The length field announced more bytes than the configured maximum.
    case frameTooLarge(declared: Int, limit: Int)
    /// The peer closed the stream in the middle of a frame's payload.
    case truncatedFrame(declared: Int, received: Int)
    /// The peer closed the stream in the middle of a length field.
    case truncatedLengthField(received: Int)

    public var description: String {
        switch self {
        case .frameTooLarge(let declared, let limit):
            return "frame of \(declared) bytes exceeds the maximum of \(limit) bytes"
        case .truncatedFrame(let declared, let received):
            return "stream ended inside a frame: \(received) of \(declared) payload bytes received"
        case .truncatedLengthField(let received):
            return "stream ended inside a length field: \(received) of 4 bytes received"
        }
    }
}
