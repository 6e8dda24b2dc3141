import VigilProtocol

/// The first bytes of a receiver's answer, escaped, for a failure's detail: enough to tell "invalid
/// payload" from "channel not found" without letting a large or hostile body into the delivery log.
enum ResponseExcerpt {
    /// At most this many bytes of the body are kept.
    static let maximumBytes = 200

    static func text(_ bytes: [UInt8]) -> String {
        let kept = bytes.prefix(Self.maximumBytes)
        var text = String(decoding: kept, as: UTF8.self).logEscaped
        if bytes.count > Self.maximumBytes { text += "…" }
        return text
    }
}
