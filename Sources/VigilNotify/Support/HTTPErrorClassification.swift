import AsyncHTTPClient
import VigilAlerting

/// What an error from the HTTP client (no response) means for a delivery.
enum HTTPErrorClassification {
    /// Network trouble (timeouts, refused or reset connections, DNS, TLS) is transient: the
    /// receiver may be back later, and the dispatcher's retries with backoff and its dead letter
    /// bound the cost. Only what no retry can change is permanent: a URL the client cannot use.
    static func failure(_ error: any Error, target: String) -> DeliveryFailure {
        if let error = error as? HTTPClientError {
            switch error {
            case .invalidURL, .emptyHost, .emptyScheme:
                return .permanent("\(target): the URL is not usable")
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout, .cancelled:
                return .transient("\(target): timed out (\(error))")
            case .remoteConnectionClosed:
                return .transient("\(target): connection closed before the answer")
            default:
                // Header values could hold a credential (an Authorization), so the invalid-header
                // errors, which list them, are not echoed.
                let text = "\(error)"
                if text.contains("invalidHeaderField") { return .permanent("\(target): a configured header is invalid") }
                if text.contains("unsupportedScheme") { return .permanent("\(target): only http and https URLs are supported") }
                return .transient("\(target): \(text)")
            }
        }
        return .transient("\(target): \(NetworkErrorText.describe(error))")
    }
}
