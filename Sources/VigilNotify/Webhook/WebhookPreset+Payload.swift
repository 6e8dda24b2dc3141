import VigilAlerting

extension WebhookPreset {
    /// The body (and headers) this preset sends for `notification`.
    func payload(for notification: AlertNotification, telegramChatID: String?) -> WebhookPayload {
        switch self {
        case .generic: GenericPayload.make(notification)
        case .slack: SlackPayload.make(notification)
        case .discord: DiscordPayload.make(notification)
        case .teams: TeamsPayload.make(notification)
        case .ntfy: NtfyPayload.make(notification)
        case .telegram: TelegramPayload.make(notification, chatID: telegramChatID ?? "")
        }
    }
}
