import VigilProtocol

/// A channel's settings that cannot be used, naming the channel and the key (never a secret's value).
public struct ChannelSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The channel's name (or its position, `channels[2]`, when it has no usable name).
    public var channel: String
    /// The settings key at fault (`url`, `to`, `secret_file`, …).
    public var key: String
    public var problem: String

    public init(channel: String, key: String, problem: String) {
        self.channel = channel
        self.key = key
        self.problem = problem
    }

    public var description: String { "channel \(self.channel.logEscaped): \(self.key): \(self.problem)" }
}
