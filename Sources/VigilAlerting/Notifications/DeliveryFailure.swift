/// Why a channel did not deliver, and whether trying again can help.
public struct DeliveryFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// Worth retrying: a timeout, a refused connection, a 5xx or 429, an SMTP 4xx.
        case transient
        /// Retrying the same bytes will not help: a 4xx other than 408/429, an SMTP 5xx (AUTH refused,
        /// recipient refused), a URL that does not resolve to http(s). Goes straight to dead letter.
        case permanent
    }

    public var kind: Kind
    /// What happened, for the delivery log (no secrets: never a password or a token).
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public static func transient(_ detail: String) -> DeliveryFailure { DeliveryFailure(.transient, detail) }
    public static func permanent(_ detail: String) -> DeliveryFailure { DeliveryFailure(.permanent, detail) }

    public var description: String { "\(self.kind.rawValue): \(self.detail)" }
}
