import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging

/// `GET /api/stream`: the live stream, a WebSocket (protocol in docs/STREAM.md).
///
/// The upgrade itself needs no token: browsers cannot set headers on a WebSocket, and a token in
/// the URL ends up in logs. The client signs in with its first message instead (see
/// ``StreamConnection``). A plain GET is answered 426 `websocket_required`. A full server
/// (`stream.max_clients`) accepts the upgrade and closes at once with 1013: hummingbird-websocket
/// answers every refused upgrade with a bare 400, which tells a browser nothing, while a close
/// code and reason reach the page.
struct StreamRoutes: Sendable {
    let hub: LiveHub
    let verifier: any AccessTokenVerifier
    let settings: StreamSettings
    let logger: Logger

    static let upgradeRequired = HTTPResponse.Status(code: 426, reasonPhrase: "Upgrade Required")

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.ws("stream") { request, _ in
            guard request.headers[values: .upgrade].contains(where: { $0.lowercased().contains("websocket") }) else {
                throw APIError(Self.upgradeRequired, "websocket_required", "GET /api/stream is a WebSocket; connect with a WebSocket client (docs/STREAM.md)", headers: [.upgrade: "websocket"])
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let connection = StreamConnection(hub: self.hub, verifier: self.verifier, settings: self.settings, logger: self.logger)
            try await connection.run(inbound: inbound, outbound: outbound, channel: context.requestContext.channel)
        }
    }
}
