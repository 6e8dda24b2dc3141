import VigilAlerting

/// Vigil's own webhook body: the notification as JSON (see ``NotificationJSON``).
enum GenericPayload {
    static func make(_ notification: AlertNotification) -> WebhookPayload {
        WebhookPayload(body: NotificationJSON.encode(notification))
    }
}
