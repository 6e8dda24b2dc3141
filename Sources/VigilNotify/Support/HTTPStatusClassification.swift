import VigilAlerting
import VigilProtocol

/// What an HTTP status means for a delivery.
enum HTTPStatusClassification {
    /// `nil` for a 2xx (delivered); otherwise the failure, transient or permanent.
    ///
    /// - 408 (request timeout), 429 (rate limited) and 5xx: the receiver may take it later → transient.
    /// - Any other 4xx: the receiver refuses these bytes (bad payload, unknown channel, revoked
    ///   webhook, bad token) and will refuse them again → permanent.
    /// - 3xx: redirects are not followed (the signed body would go to a place nobody configured), and
    ///   the same request gets the same redirect → permanent.
    /// - 1xx and anything else unexpected → transient (a broken proxy is usually temporary).
    static func failure(status: Int, reason: String, target: String, body: [UInt8], retryAfter: String?) -> DeliveryFailure? {
        if (200...299).contains(status) { return nil }
        var detail = "\(target) answered \(status)"
        // A reason phrase NIO does not know comes from the wire as sent: escaped like the body.
        if !reason.isEmpty { detail += " \(String(String(reason.prefix(ResponseExcerpt.maximumBytes)).logEscaped.dropFirst().dropLast()))" }
        if let retryAfter, !retryAfter.isEmpty { detail += " (Retry-After \(ResponseExcerpt.text(Array(retryAfter.utf8))))" }
        if !body.isEmpty { detail += ": \(ResponseExcerpt.text(body))" }
        switch status {
        case 408, 429, 500...599: return .transient(detail)
        case 300...399: return .permanent(detail + " (redirects are not followed: configure the final URL)")
        case 400...499: return .permanent(detail)
        default: return .transient(detail)
        }
    }
}
