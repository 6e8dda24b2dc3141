import Foundation
import VigilAlerting

/// The JSON a generic webhook sends: ``AlertNotification``'s own snake_case keys, ISO 8601 dates to
/// the second (`2026-12-07T17:01:15Z`), keys sorted so the same notification is the same bytes on
/// every attempt (what the signature covers and what a receiver may hash).
enum NotificationJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        // Only strings, numbers, dates and dictionaries of strings: encoding cannot fail (a
        // non-finite number is the one way, and it is written as a string instead).
        let encoder = Self.encoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}
