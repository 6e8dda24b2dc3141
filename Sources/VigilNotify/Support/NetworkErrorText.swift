import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Short words for what went wrong below HTTP and SMTP (connect, DNS, TLS), for a failure's detail.
enum NetworkErrorText {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            if let first = error.connectionErrors.first { return "cannot connect to \(error.host):\(error.port): \(Self.describe(first.error))" }
            return "cannot connect to \(error.host):\(error.port)"
        case let error as IOError:
            return Self.errnoText(error.errnoCode) ?? "\(error)"
        case let error as ChannelError:
            switch error {
            case .connectTimeout(let amount): return "connect timed out after \(amount.nanoseconds / 1_000_000)ms"
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed: return "connection closed by the peer"
            default: return "\(error)"
            }
        case let error as NIOSSLError:
            return "TLS: \(error)"
        case let error as BoringSSLError:
            return "TLS: \(error)"
        case let error as TimeLimitExceeded:
            return "no answer within \(SettingsDuration.describe(error.limit))"
        default:
            return "\(error)"
        }
    }

    private static func errnoText(_ code: CInt) -> String? {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ECONNRESET: "connection reset by the peer"
        case ETIMEDOUT: "connection timed out"
        case EHOSTUNREACH: "host unreachable"
        case ENETUNREACH: "network unreachable"
        case EPIPE: "connection closed by the peer"
        default: nil
        }
    }
}
