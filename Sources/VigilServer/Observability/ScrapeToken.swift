import Foundation
import VigilStore

/// The bearer token a Prometheus server scrapes `/metrics` and `/metrics/fleet` with
/// (`metrics.scrape_token_file`, or `VIGIL_METRICS_SCRAPE_TOKEN`).
///
/// Only its SHA-256 is kept: the token itself is not in memory after loading, nor in a settings
/// dump. A presented token is hashed and compared in constant time, so the comparison tells
/// nothing about how much of it was right.
public struct ScrapeToken: Sendable, Equatable, CustomStringConvertible {
    private let digest: [UInt8]

    /// - Parameter token: The token, already trimmed of surrounding white space; not empty.
    public init(token: String) {
        self.digest = RandomToken.digest(token)
    }

    /// Reads the token from a file (its first line, surrounding white space trimmed).
    ///
    /// - Throws: ``ConfigurationError`` naming the key when the file cannot be read or holds no token.
    static func load(file path: String, key: String) throws -> ScrapeToken {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(description: "\(key): cannot read \(path): \(error.localizedDescription)")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else {
            throw ConfigurationError(description: "\(key): \(path) holds no token (its first line is empty)")
        }
        return ScrapeToken(token: token)
    }

    /// Whether `presented` is the token, in time independent of where they differ.
    public func matches(_ presented: String) -> Bool {
        AgentKeyToken.constantTimeEquals(self.digest, RandomToken.digest(presented))
    }

    /// Never the token nor its hash (settings are printed in logs and test failures).
    public var description: String { "ScrapeToken(set)" }
}
