/// Word that mail was stored by another server sharing the store: the recipients' servers read
/// their mailboxes from their cursors. A wake-up only hurries a read; the table is the truth, so a
/// lost one delays delivery and never loses a message.
public enum MailWakeup: Sendable, Equatable {
    /// Mail up to `rowID` for these clients.
    case clients([String], rowID: Int64)
    /// Mail up to `rowID` for anyone (a broadcast, or a sweep after the wake-ups were interrupted).
    case everyone(rowID: Int64)
}
