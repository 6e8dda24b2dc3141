import AsyncHTTPClient
import NIOCore
import NIOPosix
import NIOSSL

/// The HTTP client a channel makes for itself when none is injected.
public enum HTTPClientFactory {
    /// Redirects are not followed (a signed notification goes only where it was configured to, and a
    /// 3xx is reported as a permanent failure); a failed connect is not retried; connecting is
    /// bounded by the channel's timeout;
    /// certificates are verified against `tlsConfiguration`'s roots (nil: the system's trust store).
    public static func make(timeout: Duration, tlsConfiguration: TLSConfiguration? = nil) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tlsConfiguration,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(timeout), read: TimeAmount(timeout)),
            connectionPool: HTTPClient.Configuration.ConnectionPool()
        )
        configuration.httpVersion = .automatic
        // AsyncHTTPClient would otherwise retry a failed connect with backoff until the request's
        // deadline: a refused connection would hold the delivery for the whole timeout. The
        // dispatcher owns retries (with its own backoff), so a delivery fails at once instead.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// A client TLS configuration trusting the PEM certificates in `caFile` (instead of the system's).
    public static func tlsConfiguration(caFile: String?) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        return configuration
    }
}
