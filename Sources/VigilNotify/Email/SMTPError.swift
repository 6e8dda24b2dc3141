import VigilAlerting
import VigilProtocol

/// Why an SMTP conversation stopped, and what that means for the delivery.
public enum SMTPError: Error, Sendable, CustomStringConvertible {
    /// The server answered `reply` to `command` (the greeting when `command` is nil) where another
    /// class of answer was needed.
    case unexpectedReply(command: String?, reply: SMTPReply)
    /// The server's bytes were not SMTP.
    case malformed(String)
    /// Something this client refuses to do (send AUTH in clear, go on without STARTTLS).
    case refused(String)
    /// No reply within `limit` at `stage`.
    case timedOut(stage: String, limit: Duration)
    /// The connection closed or failed at `stage`.
    case connection(stage: String, detail: String)

    public var description: String {
        switch self {
        case .unexpectedReply(let command, let reply):
            let what = command == "AUTH PLAIN" || command == "AUTH LOGIN" || command == "AUTH LOGIN (credentials)"
                ? "authentication refused" : "\(command ?? "greeting") refused"
            return "\(what) (\(Self.quoted(reply)))"
        case .malformed(let reason): return "malformed reply: \(reason)"
        case .refused(let reason): return reason
        case .timedOut(let stage, let limit):
            let within = SettingsDuration.describe(limit)
            switch stage {
            case "greeting": return "no greeting within \(within)"
            case "delivery": return "the delivery did not finish within \(within)"
            default: return "no reply to \(stage) within \(within)"
            }
        case .connection(let stage, let detail): return "connection lost at \(stage): \(detail)"
        }
    }

    /// Reply 4xx and network trouble are transient; a 5xx reply and this client's own refusals are permanent.
    public var deliveryFailureKind: DeliveryFailure.Kind {
        switch self {
        case .unexpectedReply(_, let reply): reply.isPermanentNegative ? .permanent : .transient
        case .refused: .permanent
        case .malformed, .timedOut, .connection: .transient
        }
    }

    /// The reply, escaped and cut to a few hundred bytes (a server's text is not trusted).
    static func quoted(_ reply: SMTPReply) -> String {
        let text = reply.lines.joined(separator: " ")
        let cut = text.utf8.count > ResponseExcerpt.maximumBytes ? String(decoding: Array(text.utf8.prefix(ResponseExcerpt.maximumBytes)), as: UTF8.self) + "…" : text
        let escaped = String(cut.logEscaped.dropFirst().dropLast())
        return escaped.isEmpty ? "\(reply.code)" : "\(reply.code) \(escaped)"
    }
}
