import Foundation
import Logging
import VigilAlerting
import VigilNotify

/// The server's channels: the alerting file's `channels` list decoded as VigilNotify's
/// ``ChannelSettings``, checked as a whole (names unique, secret files readable), then made.
public struct NotifyChannelFactory: NotificationChannelFactory {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func makeChannels(from json: Data) throws -> [any NotificationChannel] {
        let settings: [ChannelSettings]
        do {
            settings = try JSONDecoder().decode([ChannelSettings].self, from: json)
        } catch let error as ChannelSettingsError {
            throw error
        } catch let error as DecodingError {
            throw AlertingConfigurationError(error.pathDescription)
        }
        try ChannelSettings.validate(settings)
        var made: [any NotificationChannel] = []
        do {
            for channel in settings { made.append(try channel.makeChannel(logger: self.logger)) }
        } catch {
            // Channels made before the failing one own HTTP clients: release them.
            let orphans = made
            Task { for channel in orphans { await channel.shutdown() } }
            throw error
        }
        return made
    }
}
