#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

extension DiscoveryDatagram {
    /// Decodes one received datagram, with the same checks and the same precise reasons as a TCP
    /// frame (``Envelope/decode(jsonFrame:)``), and a size limit first.
    ///
    /// - Parameter maxBytes: A longer datagram is refused unread (`frame_too_large`).
    /// - Throws: ``ProtocolViolation`` naming what is wrong.
    public static func decode(_ datagram: ByteBuffer, maxBytes: Int) throws(ProtocolViolation) -> DiscoveryDatagram {
        guard datagram.readableBytes <= maxBytes else {
            throw ProtocolViolation(.frameTooLarge, "datagram of \(datagram.readableBytes) bytes exceeds \(maxBytes)")
        }
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) else {
            throw ProtocolViolation(.emptyFrame, "empty datagram")
        }
        guard first == UInt8(ascii: "{") else {
            throw ProtocolViolation(.invalidJSON, "a discovery datagram is a JSON object; this one does not start with '{'")
        }
        let data = Data(datagram.readableBytesView)
        guard String(validating: data, as: UTF8.self) != nil else {
            throw ProtocolViolation(.invalidUTF8, "datagram is not valid UTF-8")
        }
        do {
            return try JSONDecoder().decode(DiscoveryDatagram.self, from: data)
        } catch let error as UnknownType {
            throw ProtocolViolation(.unknownType, "not a discovery type: \(String(error.type.prefix(ProtocolLimits.maxQuotedTypeCharacters)).debugDescription)")
        } catch {
            throw ProtocolViolation(decoding: error, from: data, as: DiscoveryDatagram.self)
        }
    }

    /// The datagram's bytes (one JSON object, no length prefix).
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        // Encoding our own value types cannot fail: every field is a plain string or number.
        let data = (try? JSONEncoder().encode(self)) ?? Data("{}".utf8)
        var buffer = allocator.buffer(capacity: data.count)
        buffer.writeBytes(data)
        return buffer
    }
}
