import VigilProtocol

/// Asks a session to answer with an error and close; sent through the pipeline from any thread.
struct CloseSessionRequest: Sendable {
    var code: ErrorCode
    var message: String
    /// With code `redirect`: the member the client is sent to (`host:port`).
    var redirectTo: String? = nil
}
