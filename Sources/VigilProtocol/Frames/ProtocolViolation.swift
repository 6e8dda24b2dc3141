/// A frame that arrived whole but cannot be understood.
///
/// Unlike a ``FrameError`` the stream is still in step after one of these: the frame is dropped and
/// the server decides whether the connection may go on.
public struct ProtocolViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    /// A precise, human-readable account, e.g. `payload.protocol_version: expected an integer`.
    public var detail: String

    public init(_ code: ErrorCode, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(self.code.rawValue): \(self.detail)" }
}
