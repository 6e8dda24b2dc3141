import Logging
import NIOCore
import NIOPosix
import NIOSSL
import VigilProtocol

/// A small SMTP client (RFC 5321) on SwiftNIO: one message per connection, no pipelining.
///
/// greeting → EHLO (HELO when EHLO is not understood) → STARTTLS and EHLO again (or TLS from the
/// start) → AUTH PLAIN or LOGIN, as offered → MAIL FROM → RCPT TO each → DATA → QUIT. Every reply
/// is awaited with the command's limit, the whole with the overall one. It never retries.
public struct SMTPClient: Sendable {
    public let configuration: SMTPClientConfiguration
    let tlsContext: NIOSSLContext?
    let group: any EventLoopGroup
    let logger: Logger

    /// How long after the overall timeout the backstop cancels a conversation that is somehow still running.
    static let backstopGrace: Duration = .milliseconds(500)

    /// What happened to one message.
    public struct Outcome: Sendable {
        /// The server's reply to the message data (`250 … queued as …`).
        public var reply: SMTPReply
        /// Recipients the server refused for good (5xx) while others took the message.
        public var refused: [(address: String, reply: SMTPReply)]
    }

    /// - Throws: NIOSSL's error when the TLS configuration (a CA file) cannot be used.
    public init(configuration: SMTPClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) throws {
        self.configuration = configuration
        self.tlsContext = configuration.tls == .none ? nil : try NIOSSLContext(configuration: configuration.tlsConfiguration)
        self.group = group
        self.logger = logger
    }

    /// Sends `message` (already through ``SMTPDataEncoding``) from `sender` to `recipients` (bare addresses).
    public func send(from sender: String, to recipients: [String], data message: [UInt8]) async throws(SMTPError) -> Outcome {
        let timeout = self.configuration.timeout
        do {
            // The per-command limits inside stop at the overall deadline and say which step hung;
            // this outer limit, a little later, is only the backstop.
            return try await withTimeLimit(timeout + Self.backstopGrace) { try await self.conversation(from: sender, to: recipients, data: message) }
        } catch let error as SMTPError {
            throw error
        } catch is TimeLimitExceeded {
            throw .timedOut(stage: "delivery", limit: timeout)
        } catch {
            throw .connection(stage: "connect", detail: NetworkErrorText.describe(error))
        }
    }

    private func conversation(from sender: String, to recipients: [String], data message: [UInt8]) async throws -> Outcome {
        let configuration = self.configuration
        let deadline = ContinuousClock.now + configuration.timeout
        func limit() -> Duration { max(.milliseconds(1), min(configuration.commandTimeout, deadline - .now)) }

        let connection: SMTPConnection
        do {
            connection = try await SMTPConnection.connect(
                host: configuration.host, port: configuration.port, tls: configuration.tls == .implicit ? self.tlsContext : nil,
                connectTimeout: limit(), group: self.group
            )
        } catch {
            throw SMTPError.connection(stage: "connect", detail: NetworkErrorText.describe(error))
        }
        do {
            let outcome = try await self.session(connection, from: sender, to: recipients, data: message, limit: limit)
            // The message is the server's now; a QUIT that fails changes nothing.
            _ = try? await connection.exchange(.quit, limit: min(limit(), .seconds(2)))
            await connection.close()
            return outcome
        } catch {
            await connection.close()
            throw error
        }
    }

    private func session(
        _ connection: SMTPConnection, from sender: String, to recipients: [String], data message: [UInt8], limit: () -> Duration
    ) async throws -> Outcome {
        let configuration = self.configuration
        func send(_ command: SMTPCommand?, accept: (SMTPReply) -> Bool = { $0.isPositiveCompletion }) async throws -> SMTPReply {
            let reply = try await connection.exchange(command, limit: limit())
            guard accept(reply) else { throw SMTPError.unexpectedReply(command: command?.shown, reply: reply) }
            return reply
        }

        _ = try await send(nil)
        var capabilities = try await self.hello(connection, limit: limit)
        if configuration.tls == .starttls {
            guard capabilities.startTLS else {
                throw SMTPError.refused("the server does not offer STARTTLS (set tls: implicit for port 465, or tls: none to send without encryption)")
            }
            _ = try await send(.startTLS)
            guard let context = self.tlsContext else { throw SMTPError.refused("no TLS context") }
            try await connection.startTLS(context, host: configuration.host)
            capabilities = try await self.hello(connection, limit: limit)
        }
        if let username = configuration.username {
            guard configuration.tls != .none || configuration.allowInsecureAuth else {
                throw SMTPError.refused("refusing to send AUTH over a connection without TLS (set allow_insecure_auth to allow it)")
            }
            let password = configuration.password ?? ""
            let offered = capabilities.authMechanisms
            if offered.contains("PLAIN") {
                _ = try await send(.authPlain(username: username, password: password))
            } else if offered.contains("LOGIN") {
                _ = try await send(.authLogin, accept: { $0.code == 334 })
                _ = try await send(.authResponse(username), accept: { $0.code == 334 })
                _ = try await send(.authResponse(password))
            } else {
                let list = offered.isEmpty ? "none" : offered.sorted().joined(separator: " ")
                throw SMTPError.refused("the server offers no AUTH PLAIN or LOGIN (offers: \(list.logEscaped))")
            }
        }
        _ = try await send(.mailFrom(sender, eightBitMIME: false))
        var accepted: [String] = []
        var refused: [(address: String, reply: SMTPReply)] = []
        for recipient in recipients {
            let reply = try await connection.exchange(.rcptTo(recipient), limit: limit())
            if reply.isPositiveCompletion {
                accepted.append(recipient)
            } else if reply.isPermanentNegative {
                refused.append((recipient, reply))
            } else {
                // Greylisting and full mailboxes: nobody gets it now, so a retry doubles nothing.
                throw SMTPError.unexpectedReply(command: SMTPCommand.rcptTo(recipient).shown, reply: reply)
            }
        }
        if accepted.isEmpty, let first = refused.first {
            throw SMTPError.unexpectedReply(command: SMTPCommand.rcptTo(first.address).shown, reply: first.reply)
        }
        for refusal in refused {
            self.logger.warning(
                "SMTP server refused a recipient; sending to the others",
                metadata: ["recipient": "\(refusal.address.logEscaped)", "reply": "\(SMTPError.quoted(refusal.reply))"]
            )
        }
        _ = try await send(.data, accept: { $0.code == 354 })
        let reply = try await connection.exchange(bytes: message, stage: "the message data", limit: limit())
        guard reply.isPositiveCompletion else { throw SMTPError.unexpectedReply(command: "the message data", reply: reply) }
        return Outcome(reply: reply, refused: refused)
    }

    /// EHLO, or HELO when the server does not know EHLO (a 5xx to it).
    private func hello(_ connection: SMTPConnection, limit: () -> Duration) async throws -> SMTPCapabilities {
        let ehlo = SMTPCommand.ehlo(self.configuration.helloName)
        let reply = try await connection.exchange(ehlo, limit: limit())
        if reply.isPositiveCompletion { return SMTPCapabilities(ehlo: reply) }
        guard reply.isPermanentNegative else { throw SMTPError.unexpectedReply(command: ehlo.shown, reply: reply) }
        let helo = SMTPCommand.helo(self.configuration.helloName)
        let second = try await connection.exchange(helo, limit: limit())
        guard second.isPositiveCompletion else { throw SMTPError.unexpectedReply(command: helo.shown, reply: second) }
        return SMTPCapabilities()
    }
}
