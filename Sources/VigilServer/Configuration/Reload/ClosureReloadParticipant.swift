/// A ``ReloadParticipant`` made of two closures, for parts whose reload is a line or two.
public struct ClosureReloadParticipant: ReloadParticipant {
    public let name: String
    private let checkNew: @Sendable (ServerSettings) async throws -> Void
    private let applyNew: @Sendable (ServerSettings) async -> Void

    public init(
        name: String,
        check: @escaping @Sendable (ServerSettings) async throws -> Void = { _ in },
        apply: @escaping @Sendable (ServerSettings) async -> Void
    ) {
        self.name = name
        self.checkNew = check
        self.applyNew = apply
    }

    public func check(_ new: ServerSettings) async throws { try await self.checkNew(new) }
    public func apply(_ new: ServerSettings) async { await self.applyNew(new) }
}
