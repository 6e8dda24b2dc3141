import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a connection could not be made, for people (every client prints these).
public enum ConnectionFailure {
    /// A connection error in a few words ("cannot connect to host:5001: Connection refused"), not
    /// NIO's nested description.
    public static func describe(_ error: any Error, connectingTo server: String) -> String {
        if let tls = error as? TLSFailure {
            return "cannot connect to \(server): \(tls)"
        }
        if let connection = error as? NIOConnectionError {
            let reasons = connection.connectionErrors.map { Self.describe($0.error, connectingTo: server) }
            if let dns = connection.dnsAAAAError ?? connection.dnsAError, reasons.isEmpty {
                return "cannot resolve \(server): \(dns)"
            }
            return reasons.first ?? "cannot connect to \(server)"
        }
        if let io = error as? IOError {
            return "cannot connect to \(server): \(String(cString: strerror(io.errnoCode)))"
        }
        if let channel = error as? ChannelError, case .connectTimeout(let timeout) = channel {
            return "cannot connect to \(server): no answer within \(Duration.nanoseconds(timeout.nanoseconds))"
        }
        return "\(error)"
    }
}
