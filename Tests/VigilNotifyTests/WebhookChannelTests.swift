import Crypto
import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// The webhook channel against a real local HTTP receiver: the body, its signature, the headers,
/// and how each kind of failure is classified.
@Suite struct WebhookChannelTests {
    static let logger = Logger(label: "vigil.notify.test")

    static func channel(_ receiver: HTTPReceiver, path: String = "/hook", secret: String? = nil, timeout: Duration = .seconds(5), headers: [String: String] = [:]) -> WebhookChannel {
        WebhookChannel(
            name: "hook", url: URL(string: receiver.baseURL + path)!, secret: secret.map { Array($0.utf8) }, headers: headers,
            timeout: timeout, logger: Self.logger
        )
    }

    @Test func genericBodyDecodesBackAndItsSignatureVerifies() async throws {
        let receiver = try await HTTPReceiver()
        let channel = Self.channel(receiver, secret: "s3cret", headers: ["Authorization": "Bearer abc"])
        defer { Task { await channel.shutdown(); await receiver.stop() } }
        let notification = TestNotifications.firing()

        try await channel.deliver(notification, attempt: 3)

        let request = try #require(receiver.requests.first)
        #expect(receiver.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.uri == "/hook")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("X-Vigil-Delivery") == "n-1001")
        #expect(request.header("X-Vigil-Attempt") == "3")
        #expect(request.header("Authorization") == "Bearer abc")
        let decoded = try NotificationJSON.decoder().decode(AlertNotification.self, from: Data(request.body))
        #expect(decoded == notification)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(json["group_key"] as? String == "web-1")
        #expect(json["created_at"] as? String == "2027-01-15T08:00:30Z")

        let signature = try #require(request.header("X-Vigil-Signature-256"))
        let expected = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array("s3cret".utf8)))
        #expect(signature == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
        #expect(WebhookSignature.verify(header: signature, body: request.body, key: SymmetricKey(data: Array("s3cret".utf8))))
        #expect(!WebhookSignature.verify(header: signature, body: request.body + [0x20], key: SymmetricKey(data: Array("s3cret".utf8))))
    }

    @Test func sameNotificationIsTheSameBytesOnEveryAttempt() async throws {
        let receiver = try await HTTPReceiver()
        let channel = Self.channel(receiver, secret: "k")
        defer { Task { await channel.shutdown(); await receiver.stop() } }
        try await channel.deliver(TestNotifications.firing(), attempt: 1)
        try await channel.deliver(TestNotifications.firing(), attempt: 2)
        let requests = receiver.requests
        #expect(requests.count == 2)
        #expect(requests[0].body == requests[1].body)
        #expect(requests[0].header("X-Vigil-Signature-256") == requests[1].header("X-Vigil-Signature-256"))
        #expect(requests.map { $0.header("X-Vigil-Attempt") } == ["1", "2"])
        #expect(requests.allSatisfy { $0.header("X-Vigil-Delivery") == "n-1001" })
    }

    @Test func noSecretNoSignature() async throws {
        let receiver = try await HTTPReceiver()
        let channel = Self.channel(receiver)
        defer { Task { await channel.shutdown(); await receiver.stop() } }
        try await channel.deliver(TestNotifications.firing(), attempt: 1)
        #expect(receiver.requests.first?.header("X-Vigil-Signature-256") == nil)
    }

    @Test func serverErrorIsTransientWithStatusAndEscapedBody() async throws {
        let receiver = try await HTTPReceiver(behavior: .answer(status: 500, body: "boom\n\u{1B}[31m" + String(repeating: "x", count: 500)))
        let channel = Self.channel(receiver)
        defer { Task { await channel.shutdown(); await receiver.stop() } }
        let failure = try await Self.failure(of: channel)
        #expect(failure.kind == .transient)
        #expect(failure.detail.contains("500"))
        #expect(failure.detail.contains("boom\\n\\u{1B}[31m"))
        #expect(!failure.detail.contains("\u{1B}"))
        #expect(failure.detail.utf8.count < 400)
        #expect(!failure.detail.contains("/hook"), "the URL's path (often the credential) stays out of the detail")
    }

    @Test func rateLimitAndRequestTimeoutAreTransient() async throws {
        for status in [429, 408, 503] {
            let receiver = try await HTTPReceiver(behavior: .answer(status: status, body: "later"))
            let channel = Self.channel(receiver)
            let failure = try await Self.failure(of: channel)
            #expect(failure.kind == .transient, "\(status)")
            await channel.shutdown()
            await receiver.stop()
        }
    }

    @Test func clientErrorIsPermanent() async throws {
        for status in [400, 404, 410, 301] {
            let receiver = try await HTTPReceiver(behavior: .answer(status: status, body: "invalid_payload"))
            let channel = Self.channel(receiver)
            let failure = try await Self.failure(of: channel)
            #expect(failure.kind == .permanent, "\(status)")
            #expect(failure.detail.contains("\(status)"))
            await channel.shutdown()
            await receiver.stop()
        }
    }

    @Test func hangingReceiverIsTransientWithinTheTimeout() async throws {
        let receiver = try await HTTPReceiver(behavior: .hang)
        let channel = Self.channel(receiver, timeout: .milliseconds(800))
        defer { Task { await channel.shutdown(); await receiver.stop() } }
        let started = ContinuousClock.now
        let failure = try await Self.failure(of: channel)
        let elapsed = ContinuousClock.now - started
        #expect(failure.kind == .transient)
        #expect(elapsed >= .milliseconds(700), "gave up before the timeout: \(elapsed)")
        #expect(elapsed < .seconds(4), "took \(elapsed) for a 800ms timeout")
        #expect(receiver.requests.count == 1, "the request reached the receiver, which never answered")
    }

    @Test func refusedConnectionIsTransient() async throws {
        let port = try freePort()
        let channel = WebhookChannel(name: "hook", url: URL(string: "http://127.0.0.1:\(port)/x")!, timeout: .seconds(3), logger: Self.logger)
        let started = ContinuousClock.now
        defer { Task { await channel.shutdown() } }
        let failure = try await Self.failure(of: channel)
        #expect(failure.kind == .transient)
        #expect(failure.detail.contains("refused"), "\(failure.detail)")
        #expect(ContinuousClock.now - started < .seconds(1), "a refused connection fails at once, not at the timeout")
    }

    @Test func nonHTTPURLMadeDirectlyFailsPermanently() async throws {
        let channel = WebhookChannel(name: "hook", url: URL(string: "ftp://example.com/x")!, logger: Self.logger)
        defer { Task { await channel.shutdown() } }
        let failure = try await Self.failure(of: channel)
        #expect(failure.kind == .permanent)
    }

    /// The failure delivering `notification` through `channel` throws; a test failure if it delivers.
    static func failure(of channel: some NotificationChannel, _ notification: AlertNotification = TestNotifications.firing()) async throws -> DeliveryFailure {
        do {
            try await channel.deliver(notification, attempt: 1)
        } catch {
            return error
        }
        throw TestFailure("delivered, but a failure was expected")
    }
}

extension WebhookChannelTests {
    @Test func httpsVerifiesAgainstCAFileAndRefusesAnUnknownCertificate() async throws {
        let directory = try temporaryDirectory("vigil-notify-https")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(in: directory)
        let receiver = try await HTTPReceiver(tls: certificates)
        defer { Task { await receiver.stop() } }

        var settings = ChannelSettings(name: "secure", kind: .webhook)
        settings.url = receiver.baseURL + "/hook"
        settings.caFile = certificates.caFile.path
        settings.timeout = .seconds(5)
        let trusted = try settings.makeChannel(logger: Self.logger)
        try await trusted.deliver(TestNotifications.firing(), attempt: 1)
        await trusted.shutdown()
        #expect(receiver.requests.count == 1)

        settings.caFile = nil  // the system's roots do not know the test CA
        let untrusted = try settings.makeChannel(logger: Self.logger)
        let failure = try await Self.failure(of: untrusted)
        await untrusted.shutdown()
        #expect(failure.kind == .transient)
        #expect(failure.detail.contains("TLS") || failure.detail.lowercased().contains("certificate"), "\(failure.detail)")
        #expect(receiver.requests.count == 1, "nothing reached the receiver without a verified certificate")
    }
}
