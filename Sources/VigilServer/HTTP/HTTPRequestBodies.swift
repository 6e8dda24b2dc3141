import Foundation
import Logging
import NIOCore
import VigilMetrics
import VigilProtocol

/// Every JSON request body of the HTTP API, read and checked as its route reads and checks it,
/// without a request, a store or a network: the fuzz target `FuzzHTTPBodies` (Fuzz/, see
/// docs/TESTING.md) and its corpus replay test drive the bodies through here.
///
/// Each body goes through its route's decoder (`ProtocolViolation.decodeJSON` with the route's own
/// body type) and then the checks the route and its service make before any storage is touched.
public enum HTTPRequestBodies {
    /// The routes that read a JSON body.
    public enum Route: UInt8, CaseIterable, Sendable {
        case login, refresh, password, createUser, updateUser, createKey, postMessage, pushFile, postMetrics
    }

    /// One fuzz input: the first byte picks the route (modulo the number of routes), the rest is
    /// the body. Refusals are expected; only a crash is a finding.
    public static func fuzz(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let route = Route.allCases[Int(first) % Route.allCases.count]
        _ = try? self.check(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: input.dropFirst())), as: route)
    }

    /// Decodes `body` as `route` does and applies the route's checks.
    ///
    /// - Throws: The route's refusal (a ``ProtocolViolation`` for a body that does not decode, or
    ///   the check's own error).
    public static func check(_ body: ByteBuffer, as route: Route) throws {
        let data = Data(body.readableBytesView)
        let settings = Self.settings
        switch route {
        case .login:
            _ = try ProtocolViolation.decodeJSON(AuthRoutes.LoginBody.self, from: data)
        case .refresh:
            _ = try ProtocolViolation.decodeJSON(AuthRoutes.RefreshBody.self, from: data)
        case .password:
            let parsed = try ProtocolViolation.decodeJSON(AuthRoutes.PasswordBody.self, from: data)
            _ = PasswordPolicy.isUsable(parsed.currentPassword)
            try Self.refuse(PasswordPolicy(settings: settings.auth).problem(with: parsed.newPassword))
        case .createUser:
            let parsed = try ProtocolViolation.decodeJSON(UserRoutes.CreateBody.self, from: data)
            guard UserName.isValid(parsed.name) else { throw AuthFailure.invalidName }
            try Self.refuse(PasswordPolicy(settings: settings.auth).problem(with: parsed.password))
        case .updateUser:
            let parsed = try ProtocolViolation.decodeJSON(UserRoutes.UpdateBody.self, from: data)
            if let password = parsed.password {
                try Self.refuse(PasswordPolicy(settings: settings.auth).problem(with: password))
            }
        case .createKey:
            let parsed = try ProtocolViolation.decodeJSON(KeyRoutes.CreateBody.self, from: data)
            guard AgentAuthenticator.isValidHostname(parsed.hostname) else { throw AuthFailure.invalidName }
        case .postMessage:
            let parsed = try ProtocolViolation.decodeJSON(MessageRoutes.PostBody.self, from: data)
            try MessageRules(maxContentBytes: settings.messageMaxContentBytes).check(content: parsed.content, recipient: parsed.recipient)
            _ = parsed.recipient?.logEscaped
        case .pushFile:
            let parsed = try ProtocolViolation.decodeJSON(FileRoutes.PushBody.self, from: data)
            _ = parsed.to.logEscaped
        case .postMetrics:
            let document = try ProtocolViolation.decodeJSON(MetricsDocument.self, from: data)
            // A fresh ingestor each time: the body alone decides the outcome.
            let ingestor = MetricsIngestor(settings: settings, logger: Self.logger)
            try ingestor.ingest(document, hostname: "fuzz")
        }
    }

    private static func refuse(_ problem: String?) throws {
        if let problem { throw AuthFailure.weakPassword(problem) }
    }

    private static let settings = ServerSettings()
    private static let logger = Logger(label: "vigil.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
}
