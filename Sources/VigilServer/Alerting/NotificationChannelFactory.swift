import Foundation
import VigilAlerting

/// Makes channels from the alerting file's `channels` list (JSON). The server's default is
/// VigilNotify's; tests may pass their own.
public protocol NotificationChannelFactory: Sendable {
    func makeChannels(from json: Data) throws -> [any NotificationChannel]
}
