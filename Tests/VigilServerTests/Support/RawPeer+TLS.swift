import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import X509
@testable import VigilServer

extension RawPeer {
    /// A peer that speaks TLS: the handshake, then the same frames as a plaintext peer.
    ///
    /// - Parameters:
    ///   - trusting: The CA to trust (the test server's own); nil trusts nothing (the handshake then fails).
    ///   - serverName: The name the certificate must carry (SNI for a DNS name).
    ///   - configure: Changes to the client configuration (a TLS 1.2-only client, say).
    static func connect(
        port: Int, trusting ca: Certificate?, serverName: String = "localhost",
        configure: (inout TLSConfiguration) -> Void = { _ in }
    ) async throws -> RawPeer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca {
            configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(ca.pemString.utf8), format: .pem)])
        } else {
            configuration.trustRoots = .certificates([])
        }
        configure(&configuration)
        let context = try NIOSSLContext(configuration: configuration)
        let isAddress = (try? SocketAddress(ipAddress: serverName, port: 0)) != nil
        return try await Self.connect(port: port) { channel in
            let handler = try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : serverName)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }
    }

    /// The server's material, for a test that trusts it.
    static func ca(of server: TestServer) throws -> Certificate {
        guard let tls = server.server.tls else { throw TimeoutError(description: "the test server has TLS off") }
        return tls.material.ca
    }
}
