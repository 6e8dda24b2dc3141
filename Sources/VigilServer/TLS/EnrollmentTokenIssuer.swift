import VigilConnection
import VigilProtocol

/// Makes the enrollment token `vigil keys create` prints and `POST /api/keys` answers: the agent
/// key together with where the server is (`agents.advertise`) and the CA an agent must pin.
public enum EnrollmentTokenIssuer {
    /// - Parameters:
    ///   - key: The new agent key (`vk_…`).
    ///   - host: The host it is bound to.
    ///   - caFingerprint: The CA the server's chain ends at.
    ///   - boundPort: The agent port actually bound, when `agents.port` is 0.
    /// - Throws: ``TLSSetupError`` when an `agents.advertise` entry is not `host:port`.
    public static func token(key: String, host: String, caFingerprint: CertificateFingerprint, settings: ServerSettings, boundPort: Int? = nil) throws -> EnrollmentToken {
        let texts = settings.advertisedAgentAddresses(boundPort: boundPort)
        var servers: [ServerAddress] = []
        for text in texts {
            guard let address = ServerAddress(parsing: text), address.port != 0 else {
                throw TLSSetupError("agents.advertise: \(text.logEscaped) is not host:port with a real port; set agents.advertise to where agents reach this server")
            }
            servers.append(address)
        }
        return EnrollmentToken(servers: servers, key: key, host: host, caFingerprint: caFingerprint)
    }

    /// The fingerprint tokens pin, from the data directory (making the CA if the server never ran)
    /// or from the operator's files.
    public static func caFingerprint(settings: ServerSettings) throws -> CertificateFingerprint {
        if settings.tls.usesOperatorFiles || settings.storage == .memory {
            let (material, _) = try TLSFiles.load(settings: settings.tls, names: settings.tlsNames, dataDirectory: settings.storage.usesDataDirectory ? settings.dataDirectory : nil)
            return material.caFingerprint
        }
        return CertificateFingerprint(try TLSFiles(dataDirectory: settings.dataDirectory).loadOrCreateAuthority(settings: settings.tls).certificate)
    }
}
