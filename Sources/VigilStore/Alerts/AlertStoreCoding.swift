import Foundation

/// How every store writes rules, silences, labels and notifications as JSON: sorted keys (stable
/// bytes for equal values) and dates as Unix seconds.
public enum AlertStoreCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()
}
