/// `SERVER_DISCOVERY.payload`: an object whose fields are ignored (the original clients send `{}`).
/// It must be an object, as every envelope's payload must (PROTOCOL.md §3).
public struct ServerDiscoveryPayload: Sendable, Equatable, Codable {
    public init() {}

    public init(from decoder: any Decoder) throws {
        // Asking for a keyed container refuses a payload that is not an object; its keys are not read.
        _ = try decoder.container(keyedBy: AnyKey.self)
    }

    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: AnyKey.self)
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
