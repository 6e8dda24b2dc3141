import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import VigilAlerting

/// One HTTP POST, once, bounded by a time limit, its answer classified: what webhook and
/// Alertmanager channels share. It never retries (the dispatcher does).
struct HTTPDelivery: Sendable {
    let client: HTTPClient
    /// Bounds the whole request: connect, send, the answer's head and body.
    let timeout: Duration
    let logger: Logger

    /// Response bytes read (and thrown away past the excerpt) so the connection can be reused;
    /// a longer answer is cut off and its connection closed.
    static let maximumDrainedBytes = 1 << 20

    struct Answer: Sendable {
        var status: Int
        var reason: String
        var body: [UInt8]
        var retryAfter: String?
    }

    /// POSTs `body` to `url`; returns on a 2xx, throws the classified failure otherwise.
    func post(_ url: URL, headers: HTTPHeaders, body: [UInt8]) async throws(DeliveryFailure) {
        let target = url.redacted
        let answer: Answer
        do {
            answer = try await withTimeLimit(self.timeout) { [client = self.client, logger = self.logger, timeout = self.timeout] in
                var request = HTTPClientRequest(url: url.absoluteString)
                request.method = .POST
                request.headers = headers
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await client.execute(request, deadline: .now() + TimeAmount(timeout), logger: logger)
                var excerpt: [UInt8] = []
                var total = 0
                for try await chunk in response.body {
                    let room = ResponseExcerpt.maximumBytes + 1 - excerpt.count
                    if room > 0 { excerpt += chunk.readableBytesView.prefix(room) }
                    total += chunk.readableBytes
                    if total > Self.maximumDrainedBytes { break }
                }
                return Answer(
                    status: Int(response.status.code), reason: response.status.reasonPhrase, body: excerpt,
                    retryAfter: response.headers.first(name: "retry-after")
                )
            }
        } catch {
            throw HTTPErrorClassification.failure(error, target: target)
        }
        if let failure = HTTPStatusClassification.failure(
            status: answer.status, reason: answer.reason, target: target, body: answer.body, retryAfter: answer.retryAfter
        ) {
            throw failure
        }
    }
}
