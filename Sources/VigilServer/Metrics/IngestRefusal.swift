import VigilProtocol

/// Why a metrics sample was not taken. Each maps to an HTTP status and a protocol error code, so
/// `POST /api/metrics` and the agent's `METRICS` frames refuse the same things the same way.
public struct IngestRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A value is out of its allowed range (the field path is in the detail).
        case invalid
        /// The host sends faster than `metrics.rate_limit`.
        case rateLimited
        /// Not newer than the host's latest sample.
        case stale
        /// The write queue is full.
        case busy
        /// The data directory's disk is full (``StorageCondition``): nothing can be written now.
        case storageFull

        /// The name used in counters (`/api/health`).
        public var code: String {
            switch self {
            case .invalid: "invalid_field"
            case .rateLimited: "rate_limited"
            case .stale: "stale_sample"
            case .busy: "server_busy"
            case .storageFull: "storage_full"
            }
        }
    }

    public var kind: Kind
    public var detail: String
    /// For `rateLimited`: when a sample would be accepted again.
    public var retryAfter: Duration?

    public init(_ kind: Kind, _ detail: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var description: String { "\(self.code.rawValue): \(self.detail)" }

    /// The protocol error code for a `SERVER_RESPONSE`.
    public var code: ErrorCode {
        switch self.kind {
        case .invalid: .invalidField
        case .rateLimited: .rateLimited
        case .stale: .staleSample
        // The agent protocol has no code of its own for it: `server_busy` (retry later), with
        // `storage_full` at the start of the message.
        case .busy, .storageFull: .serverBusy
        }
    }
}
