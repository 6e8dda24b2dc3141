/// A part of the server that takes new settings on a reload, in two phases so a reload is all or
/// nothing: every participant's ``check(_:)`` runs first, and only when none throws does every
/// ``apply(_:)`` run.
///
/// `new` is the whole configuration that will run: the hot keys (``ReloadPolicy/hotKeys``) from
/// the file just read, every restart-only key as the server started. A participant that keeps
/// something beside the settings (TLS certificates, an alerting rules file) reads and validates it
/// in `check`, throwing a precise error to refuse the whole reload, and installs what it read in
/// `apply`. Reloads never overlap, so a participant may keep what `check` prepared for the `apply`
/// that follows; `apply` comes only after a successful `check` of the same reload.
public protocol ReloadParticipant: Sendable {
    /// Names the participant in errors and logs (`tls`, `alerting`).
    var name: String { get }
    /// Phase 1: can `new` be applied? Throw (with the precise problem) to refuse the whole reload;
    /// nothing may change here.
    func check(_ new: ServerSettings) async throws
    /// Phase 2: apply `new`. Cannot fail: whatever could go wrong was found by ``check(_:)``.
    func apply(_ new: ServerSettings) async
}
