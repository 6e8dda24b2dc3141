#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// One frame's payload, classified.
public enum InboundFrame: Sendable {
    /// A JSON control message (the payload began with `{`).
    case envelope(Envelope)
    /// A binary frame of file bytes (the payload began with `0x01`).
    case fileData(FileDataFrame)
}

extension InboundFrame {
    /// Classifies and decodes one frame payload (the bytes after the length field).
    ///
    /// - Parameter payload: The frame payload.
    /// - Throws: ``ProtocolViolation`` naming exactly what is wrong.
    public static func parse(_ payload: ByteBuffer) throws(ProtocolViolation) -> InboundFrame {
        guard let first = payload.getInteger(at: payload.readerIndex, as: UInt8.self) else {
            throw ProtocolViolation(.emptyFrame, "zero-length frame")
        }
        guard first == UInt8(ascii: "{") else {
            // Binary frames name their kind in the first byte; see docs/PROTOCOL.md.
            if first == BinaryFrameKind.fileData.rawValue {
                return .fileData(try FileDataFrame(parsing: payload))
            }
            let hex = (first < 16 ? "0" : "") + String(first, radix: 16, uppercase: true)
            throw ProtocolViolation(.unknownBinaryKind, "frame starts with byte 0x\(hex), which is neither '{' (JSON envelope) nor a binary frame kind this server knows")
        }
        return .envelope(try Envelope.decode(jsonFrame: payload))
    }
}

extension Envelope {
    /// Decodes a JSON frame payload into an envelope, mapping every failure to a precise violation.
    ///
    /// - Parameter jsonFrame: A frame payload that starts with `{`.
    public static func decode(jsonFrame: ByteBuffer) throws(ProtocolViolation) -> Envelope {
        let validUTF8 = jsonFrame.readableBytesView.withContiguousStorageIfAvailable { bytes in
            String(validating: bytes, as: UTF8.self) != nil
        } ?? (String(validating: Array(jsonFrame.readableBytesView), as: UTF8.self) != nil)
        guard validUTF8 else {
            throw ProtocolViolation(.invalidUTF8, "JSON frame is not valid UTF-8")
        }
        let data = Data(jsonFrame.readableBytesView)
        do {
            return try JSONDecoder().decode(Envelope.self, from: data)
        } catch let error as Envelope.UnknownType {
            throw ProtocolViolation(.unknownType, "unknown message type \(String(error.type.prefix(ProtocolLimits.maxQuotedTypeCharacters)).debugDescription)")
        } catch {
            throw ProtocolViolation(decoding: error, from: data, as: Envelope.self)
        }
    }

    /// Encodes this envelope as a frame payload (without the length field, which the framing adds).
    public func encodedFrame(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        // Encoding our own value types cannot fail: every field is a plain string, number, bool or array.
        let data = (try? JSONEncoder().encode(self)) ?? Data("{}".utf8)
        var buffer = allocator.buffer(capacity: data.count)
        _ = data.withUnsafeBytes { buffer.writeBytes($0) }
        return buffer
    }
}

extension ProtocolViolation {
    /// Decodes JSON, mapping every failure to a violation that names the field path, e.g.
    /// `cpu.cpu_percent_total: expected a number`. Used for frames and for HTTP bodies alike.
    public static func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data) throws(ProtocolViolation) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw ProtocolViolation(decoding: error, from: data, as: type)
        }
    }

    /// Maps an error thrown while decoding `data` as `type` to a violation; a number that does not
    /// fit its field (which Foundation reports without a path) is located by decoding once more
    /// through a ``FieldLocatingDecoder``, so the message names the field.
    public init<T: Decodable>(decoding error: any Error, from data: Data, as type: T.Type) {
        self.init(decoding: error, from: data)
        guard self.code == .invalidJSON || self.detail == Self.numberDoesNotFit else { return }
        do {
            _ = try JSONDecoder().decode(LocatedValue<T>.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty && context.underlyingError.map({ !($0 is DecodingError) }) == true {
            self = ProtocolViolation(decodingError: .dataCorrupted(context))
        } catch {
            // Not a number out of place: the first account stands.
        }
    }

    static let numberDoesNotFit = "a number does not fit its field (not an integer, or out of range)"

    /// Maps an error thrown while decoding `data` to a violation.
    public init(decoding error: any Error, from data: Data) {
        guard let error = error as? DecodingError else {
            self.init(.invalidJSON, "\(error)")
            return
        }
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, context.underlyingError == nil,
           (try? JSONDecoder().decode(AnyJSON.self, from: data)) != nil {
            // Foundation reports a number that does not fit its field (1.5 or -1 for an integer)
            // as corrupt data without a path, although the JSON itself is well formed.
            self.init(.invalidField, Self.numberDoesNotFit)
            return
        }
        self.init(decodingError: error)
    }

    /// Maps a `DecodingError` to the field path and the problem, e.g. `payload.hostname: missing`.
    init(decodingError error: DecodingError) {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (last.map { [$0] } ?? [])
            let joined = keys.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
                .joined(separator: ".").replacing(".[", with: "[")
            return joined.isEmpty ? "(top level)" : joined
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(.missingField, "\(path(context.codingPath, key)): required field is missing")
        case .typeMismatch(let type, let context):
            self.init(.invalidField, "\(path(context.codingPath)): expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(.invalidField, "\(path(context.codingPath)): expected \(Self.describe(type)), found null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self.init(.invalidJSON, "not valid JSON: \(context.debugDescription)")
            } else {
                self.init(.invalidField, "\(path(context.codingPath)): \(context.debugDescription)")
            }
        @unknown default:
            self.init(.invalidJSON, "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is UInt64.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [String].Type, is [Any].Type: "an array"
        default:
            if String(describing: type).hasPrefix("Dictionary") || String(describing: type).hasPrefix("KeyedDecodingContainer") {
                "an object"
            } else if String(describing: type).hasPrefix("Array") {
                "an array"
            } else {
                "\(type)"
            }
        }
    }
}

/// Any JSON value: decoding into it tells well-formed JSON from malformed text.
private enum AnyJSON: Decodable {
    case null, bool(Bool), number(Double), string(String), array([AnyJSON]), object([String: AnyJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([AnyJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: AnyJSON].self)) }
    }
}
