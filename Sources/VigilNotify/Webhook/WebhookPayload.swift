/// A request body a preset made, with its content type and any headers the service reads.
struct WebhookPayload: Sendable, Equatable {
    var body: [UInt8]
    var contentType: String = "application/json"
    /// Headers the preset adds (ntfy's `Title`, `Priority`, `Tags`).
    var headers: [(name: String, value: String)] = []

    static func == (lhs: WebhookPayload, rhs: WebhookPayload) -> Bool {
        lhs.body == rhs.body && lhs.contentType == rhs.contentType
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}
