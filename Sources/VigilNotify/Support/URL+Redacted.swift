import Foundation

extension URL {
    /// `https://hooks.slack.com/…`: scheme, host and port only, for errors and logs.
    ///
    /// Webhook URLs are credentials (Slack's, Discord's and Teams' paths are the secret; Telegram's
    /// holds the bot token), so no path, query or user info ever leaves the channel.
    var redacted: String {
        var text = "\(self.scheme ?? "?")://\(self.host ?? "?")"
        if let port = self.port { text += ":\(port)" }
        if !self.path.isEmpty && self.path != "/" || self.query != nil { text += "/…" }
        return text
    }
}
