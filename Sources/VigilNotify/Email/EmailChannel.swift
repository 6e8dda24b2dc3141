import Logging
import VigilAlerting
import VigilProtocol

/// Email: each notification is one mail to every recipient, sent over SMTP by ``SMTPClient``.
///
/// The `Message-ID` comes from the notification's id and the `Date` from its creation, so an
/// attempt after a lost confirmation is the same message. SMTP 4xx replies and network trouble
/// are transient; 5xx replies (`535` bad credentials, a refused sender or every recipient refused)
/// and refusals to downgrade security are permanent.
public final class EmailChannel: NotificationChannel {
    public let name: String
    public var kind: String { ChannelKind.email.rawValue }
    public let client: SMTPClient
    public let from: MailAddress
    public let to: [MailAddress]
    let logger: Logger

    public init(name: String, client: SMTPClient, from: MailAddress, to: [MailAddress], logger: Logger) {
        self.name = name
        self.client = client
        self.from = from
        self.to = to
        self.logger = logger
    }

    public func deliver(_ notification: AlertNotification, attempt: Int) async throws(DeliveryFailure) {
        let message = EmailMessage(from: self.from, to: self.to, notification: notification, date: notification.createdAt)
        let target = "smtp \(self.client.configuration.host):\(self.client.configuration.port)"
        do {
            let outcome = try await self.client.send(from: self.from.address, to: self.to.map(\.address), data: SMTPDataEncoding.encode(message.rendered))
            self.logger.debug(
                "email delivered", metadata: ["channel": "\(self.name)", "notification": "\(notification.id.logEscaped)", "reply": "\(SMTPError.quoted(outcome.reply))"]
            )
        } catch {
            throw DeliveryFailure(error.deliveryFailureKind, "\(target): \(error)")
        }
    }

    /// Nothing to release: each delivery opens and closes its own connection.
    public func shutdown() async {}
}
