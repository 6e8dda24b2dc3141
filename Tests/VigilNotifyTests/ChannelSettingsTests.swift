import Foundation
import Logging
import Testing
import VigilAlerting
@testable import VigilNotify

/// Channel settings: decoding (as the configuration file writes them), validation with errors that
/// name the channel and the key, and the factory.
@Suite struct ChannelSettingsTests {
    static func decode(_ json: String) throws -> ChannelSettings {
        try JSONDecoder().decode(ChannelSettings.self, from: Data(json.utf8))
    }

    static func error(_ json: String, environment: [String: String] = [:]) -> ChannelSettingsError? {
        do {
            let settings = try Self.decode(json)
            try settings.validate(environment: environment)
            return nil
        } catch let error as ChannelSettingsError {
            return error
        } catch {
            Issue.record("not a ChannelSettingsError: \(error)")
            return nil
        }
    }

    @Test func decodesEachTypeWithDefaults() throws {
        let hook = try Self.decode(#"{"name": "ops-hook", "type": "webhook", "url": "https://hooks.example.com/x", "preset": "slack", "timeout": "500ms", "headers": {"Authorization": "Bearer t"}}"#)
        #expect(hook.kind == .webhook)
        #expect(hook.preset == .slack)
        #expect(hook.effectiveTimeout == .milliseconds(500))
        #expect(hook.headers == ["Authorization": "Bearer t"])

        let am = try Self.decode(#"{"name": "am", "type": "alertmanager", "url": "http://am:9093"}"#)
        #expect(am.resendInterval == .seconds(60))
        #expect(am.effectiveTimeout == ChannelSettings.defaultHTTPTimeout)

        let mail = try Self.decode(#"{"name": "mail", "type": "email", "host": "smtp.example.com", "from": "v@example.com", "to": "ops@example.com", "timeout": 45, "resend_interval": "2m"}"#)
        #expect(mail.tls == .starttls)
        #expect(mail.effectivePort == 587)
        #expect(mail.to == ["ops@example.com"])
        #expect(mail.effectiveTimeout == .seconds(45))
        #expect(mail.resendInterval == .seconds(120))
        #expect(!mail.allowInsecureAuth)

        let telegram = try Self.decode(#"{"name": "tg", "type": "webhook", "preset": "telegram", "url": "https://api.telegram.org/bot123:abc/sendMessage", "chat_id": -1001234}"#)
        #expect(telegram.chatID == "-1001234")
        try telegram.validate(environment: [:])
    }

    @Test func webhookURLThatIsNotHTTPIsRefusedByName() throws {
        for url in ["ftp://files.example.com/hook", "javascript:alert(1)", "http://", "not a url at all", "file:///etc/passwd"] {
            let error = try #require(Self.error(#"{"name": "bad-hook", "type": "webhook", "url": "\#(url)"}"#), "\(url) accepted")
            #expect(error.channel == "bad-hook")
            #expect(error.key == "url")
        }
        let missing = try #require(Self.error(#"{"name": "h", "type": "webhook"}"#))
        #expect(missing.key == "url")
        #expect(Self.error(#"{"name": "am", "type": "alertmanager", "url": "ftp://am"}"#)?.key == "url")
    }

    @Test func urlErrorsDoNotRepeatTheURL() throws {
        let error = try #require(Self.error(#"{"name": "h", "type": "webhook", "url": "ftp://user:hunter2@example.com/T000/B000/XXXX"}"#))
        #expect(!error.description.contains("hunter2"))
        #expect(!error.description.contains("XXXX"))
        #expect(error.description.contains("ftp"))
    }

    @Test func badValuesNameTheirKey() throws {
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "preset": "myspace"}"#)?.key == "preset")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "timeout": "0s"}"#)?.key == "timeout")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "timeout": "-5s"}"#)?.key == "timeout")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "timeout": 0}"#)?.key == "timeout")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "timeout": "soon"}"#)?.key == "timeout")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "secret_file": "/nonexistent/vigil-secret"}"#)?.key == "secret_file")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "secert_file": "/x"}"#)?.key == "secert_file")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "headers": {"X-Vigil-Attempt": "9"}}"#)?.key == "headers")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://ntfy.sh/", "preset": "ntfy"}"#)?.key == "url")
        #expect(Self.error(#"{"name": "tg", "type": "webhook", "preset": "telegram", "chat_id": "1"}"#)?.key == "bot_token_file")
        #expect(Self.error(#"{"name": "tg", "type": "webhook", "preset": "telegram", "url": "https://api.telegram.org/botX/sendMessage"}"#)?.key == "chat_id")
        #expect(Self.error(#"{"name": "h", "type": "pager"}"#)?.key == "type")
        #expect(Self.error(#"{"type": "webhook", "url": "https://x.example"}"#)?.key == "name")
        #expect(Self.error(#"{"name": "bad name!", "type": "webhook", "url": "https://x.example"}"#)?.key == "name")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": ["https://x.example"]}"#)?.key == "url")
        #expect(Self.error(#"{"name": "h", "type": "webhook", "url": "https://x.example", "headers": {"X-N": 5}}"#)?.key == "headers")
        #expect(Self.error(#"{"name": "m", "type": "email", "host": "h", "from": "a@b.c", "to": ["o@b.c"], "port": "smtp"}"#)?.key == "port")
        #expect(Self.error(#"{"name": "m", "type": "email", "host": "h", "from": "a@b.c", "to": ["o@b.c"], "allow_insecure_auth": "perhaps"}"#)?.key == "allow_insecure_auth")
        #expect(try Self.decode(#"{"name": "m", "type": "email", "host": "h", "from": "a@b.c", "to": ["o@b.c"], "allow_insecure_auth": "yes"}"#).allowInsecureAuth)
    }

    @Test func emailSettingsAreCheckedKeyByKey() throws {
        let base = #""name": "mail", "type": "email", "host": "smtp.example.com", "from": "Vigil <v@example.com>""#
        #expect(Self.error("{\(base), \"to\": []}")?.key == "to")
        #expect(Self.error("{\(base)}")?.key == "to")
        #expect(Self.error("{\(base), \"to\": [\"not-an-address\"]}")?.key == "to")
        #expect(Self.error(#"{"name": "mail", "type": "email", "host": "smtp.example.com", "from": "nobody", "to": ["o@example.com"]}"#)?.key == "from")
        #expect(Self.error(#"{"name": "mail", "type": "email", "from": "v@example.com", "to": ["o@example.com"]}"#)?.key == "host")
        #expect(Self.error("{\(base), \"to\": [\"o@example.com\"], \"tls\": \"sometimes\"}")?.key == "tls")
        #expect(Self.error("{\(base), \"to\": [\"o@example.com\"], \"port\": 70000}")?.key == "port")
        #expect(Self.error("{\(base), \"to\": [\"o@example.com\"], \"username\": \"u\"}")?.key == "password_file")
        #expect(Self.error("{\(base), \"to\": [\"o@example.com\"], \"username\": \"u\", \"password_env\": \"VIGIL_TEST_SMTP_PW\"}")?.key == "password_env")
        #expect(Self.error("{\(base), \"to\": [\"o@example.com\"], \"username\": \"u\", \"password_env\": \"PW\"}", environment: ["PW": "x"]) == nil)
        // AUTH in clear only when asked for.
        let clear = "{\(base), \"to\": [\"o@example.com\"], \"tls\": \"none\", \"username\": \"u\", \"password_env\": \"PW\""
        #expect(Self.error(clear + "}", environment: ["PW": "x"])?.key == "tls")
        #expect(Self.error(clear + ", \"allow_insecure_auth\": true}", environment: ["PW": "x"]) == nil)
    }

    @Test func duplicateNamesAreRefused() throws {
        let one = try Self.decode(#"{"name": "ops", "type": "webhook", "url": "https://a.example/1"}"#)
        let two = try Self.decode(#"{"name": "ops", "type": "alertmanager", "url": "http://am:9093"}"#)
        #expect(throws: ChannelSettingsError(channel: "ops", key: "name", problem: "duplicate: another channel has this name")) {
            try ChannelSettings.validate([one, two], environment: [:])
        }
        try ChannelSettings.validate([one], environment: [:])
    }

    @Test func decodesAListAsAConfigurationFileHasIt() throws {
        let json = #"[{"name": "a", "type": "webhook", "url": "https://a.example"}, {"name": "b", "type": "webhook", "url": "https://b.example", "preset": "nope"}]"#
        do {
            _ = try JSONDecoder().decode([ChannelSettings].self, from: Data(json.utf8))
            Issue.record("an unknown preset was accepted")
        } catch let error as ChannelSettingsError {
            #expect(error.channel == "b")
            #expect(error.key == "preset")
            #expect(error.description.contains("nope"))
        }
    }

    @Test func factoryMakesEachKindAndReadsSecretFiles() async throws {
        let directory = try temporaryDirectory("vigil-notify-settings")
        defer { try? FileManager.default.removeItem(at: directory) }
        let secret = directory.appendingPathComponent("hook.secret")
        try writePrivate("topsecret\n", to: secret)
        let token = directory.appendingPathComponent("bot.token")
        try writePrivate("123:ABC\n", to: token)
        let logger = Logger(label: "test")

        var hook = ChannelSettings(name: "hook", kind: .webhook)
        hook.url = "https://hooks.example.com/x"
        hook.secretFile = secret.path
        let webhook = try #require(try hook.makeChannel(logger: logger) as? WebhookChannel)
        #expect(webhook.kind == "webhook")
        #expect(webhook.secret != nil)
        await webhook.shutdown()

        var telegram = ChannelSettings(name: "tg", kind: .webhook)
        telegram.preset = .telegram
        telegram.chatID = "42"
        telegram.botTokenFile = token.path
        let bot = try #require(try telegram.makeChannel(logger: logger) as? WebhookChannel)
        #expect(bot.url.absoluteString == "https://api.telegram.org/bot123:ABC/sendMessage")
        await bot.shutdown()

        var am = ChannelSettings(name: "am", kind: .alertmanager)
        am.url = "http://127.0.0.1:9093"
        am.resendInterval = .seconds(30)
        let alertmanager = try #require(try am.makeChannel(logger: logger) as? AlertmanagerChannel)
        #expect(alertmanager.resendInterval == .seconds(30))
        #expect(alertmanager.endpoint.absoluteString == "http://127.0.0.1:9093/api/v2/alerts")
        await alertmanager.shutdown()

        var mail = ChannelSettings(name: "mail", kind: .email)
        mail.host = "smtp.example.com"
        mail.from = "v@example.com"
        mail.to = ["a@example.com", "B <b@example.com>"]
        mail.username = "u"
        mail.passwordFile = secret.path
        let email = try #require(try mail.makeChannel(logger: logger) as? EmailChannel)
        #expect(email.to.map(\.address) == ["a@example.com", "b@example.com"])
        #expect(email.client.configuration.password == "topsecret")
        #expect(email.client.configuration.port == 587)

        mail.passwordFile = directory.appendingPathComponent("missing").path
        #expect(throws: ChannelSettingsError.self) { try mail.makeChannel(logger: logger) }
    }
}

extension ChannelSettingsTests {
    @Test func descriptionRedactsSecretsHeadersAndURLPaths() throws {
        let settings = try Self.decode(#"{"name": "s", "type": "webhook", "preset": "slack", "url": "https://hooks.slack.com/services/T0/B0/SECRETPATH", "secret": "hunter2", "headers": {"Authorization": "Bearer TOKEN"}}"#)
        for text in [settings.description, "\(settings)", String(reflecting: settings)] {
            #expect(!text.contains("hunter2"))
            #expect(!text.contains("TOKEN"))
            #expect(!text.contains("SECRETPATH"))
            #expect(text.contains("hooks.slack.com"))
            #expect(text.contains("Authorization"))
        }
    }
}
