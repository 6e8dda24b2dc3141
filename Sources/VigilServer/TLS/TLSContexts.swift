import Foundation
import Logging
import NIOSSL
import Synchronization

/// The TLS contexts both listeners take for each new connection, replaced as a whole on reload
/// (SIGHUP, `vigil tls rotate`): connections already open keep the context they started with, so
/// a reload drops nothing.
public final class TLSContexts: Sendable {
    private struct Current: Sendable {
        var material: TLSMaterial
        var agents: NIOSSLContext
        var http: NIOSSLContext
    }

    private let settings: TLSSettings
    private let names: [String]
    private let dataDirectory: String?
    private let logger: Logger
    private let current: Mutex<Current>
    /// Contexts built by ``prepareReload()`` and not installed yet.
    private let prepared = Mutex<Current?>(nil)

    /// Loads (or makes) the certificates and builds the contexts. Throws ``TLSSetupError`` when
    /// they cannot be used: a server must not start without the encryption it was asked for.
    public init(settings: TLSSettings, names: [String], dataDirectory: String?, logger: Logger) throws {
        self.settings = settings
        self.names = names
        self.dataDirectory = dataDirectory
        self.logger = logger
        let current = try Self.build(settings: settings, names: names, dataDirectory: dataDirectory, logger: logger)
        self.current = Mutex(current)
    }

    /// What the server presents now.
    public var material: TLSMaterial { self.current.withLock { $0.material } }

    var agentContext: NIOSSLContext { self.current.withLock { $0.agents } }
    var httpContext: NIOSSLContext { self.current.withLock { $0.http } }

    /// Re-reads the certificate files (renewing a generated certificate that nears expiry). On
    /// failure the old certificates stay in use and the error is logged and thrown.
    public func reload() throws {
        try self.prepareReload()
        self.installPrepared()
    }

    /// A configuration reload's first phase: reads the certificate files and builds the contexts,
    /// without using them yet. Throws (and logs) when they cannot be used.
    public func prepareReload() throws {
        do {
            let fresh = try Self.build(settings: self.settings, names: self.names, dataDirectory: self.dataDirectory, logger: self.logger)
            self.prepared.withLock { $0 = fresh }
        } catch {
            self.logger.error("TLS reload failed; the previous certificates stay in use", metadata: ["error": "\(error)"])
            throw error
        }
    }

    /// The second phase: new connections get what ``prepareReload()`` built.
    public func installPrepared() {
        let taken = self.prepared.withLock { (prepared: inout Current?) -> Current? in
            defer { prepared = nil }
            return prepared
        }
        guard let fresh = taken else { return }
        let changed = self.current.withLock { current in
            defer { current = fresh }
            return current.material.serverCertificate != fresh.material.serverCertificate
        }
        self.logger.notice("TLS certificates reloaded", metadata: [
            "changed": "\(changed)", "not_after": "\(fresh.material.serverCertificate.notValidAfter)",
            "ca": "\(fresh.material.caFingerprint)",
        ])
    }

    private static func build(settings: TLSSettings, names: [String], dataDirectory: String?, logger: Logger) throws -> Current {
        let (material, issued) = try TLSFiles.load(settings: settings, names: names, dataDirectory: dataDirectory)
        if let issued {
            logger.notice("issued a server certificate", metadata: [
                "reason": "\(issued)", "names": "\(names.joined(separator: ","))",
                "not_after": "\(material.serverCertificate.notValidAfter)",
            ])
        }
        return Current(
            material: material,
            agents: try material.makeServerContext(minimumVersion: settings.minimumVersion),
            http: try material.makeServerContext(minimumVersion: settings.minimumVersion, applicationProtocols: ["http/1.1"])
        )
    }
}
