#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// The first byte of a binary frame: what the rest of it is.
public enum BinaryFrameKind: UInt8, Sendable {
    /// File bytes: transfer id, offset, data (``FileDataFrame``).
    case fileData = 0x01
}

/// A binary frame carrying part of a file, so file bytes are never base64'd:
///
/// ```
/// +------+----------------------+-------------------+----------------+
/// | 0x01 | transfer id, 16 B    | offset, uint64 BE | file bytes ... |
/// +------+----------------------+-------------------+----------------+
/// ```
///
/// The transfer id is the 16 bytes of the UUID named in `FILE_OFFER.payload.transfer_id`; the offset
/// is where the bytes go in the file. At most `FILE_READY.payload.chunk_size` bytes follow.
public struct FileDataFrame: Sendable, Equatable {
    /// Bytes before the file bytes: kind, transfer id, offset.
    public static let headerSize = 1 + 16 + 8

    public var transferID: UUID
    public var offset: UInt64
    /// The file bytes (a slice of the frame; not copied).
    public var data: ByteBuffer

    public init(transferID: UUID, offset: UInt64, data: ByteBuffer) {
        self.transferID = transferID
        self.offset = offset
        self.data = data
    }

    /// Parses a frame payload whose first byte is ``BinaryFrameKind/fileData``.
    public init(parsing payload: ByteBuffer) throws(ProtocolViolation) {
        var buffer = payload
        guard buffer.readableBytes >= Self.headerSize,
              buffer.readInteger(as: UInt8.self) == BinaryFrameKind.fileData.rawValue,
              let idBytes = buffer.readBytes(length: 16),
              let offset = buffer.readInteger(endianness: .big, as: UInt64.self)
        else {
            throw ProtocolViolation(.invalidField, "file data frame shorter than its \(Self.headerSize)-byte header (kind, transfer id, offset)")
        }
        self.transferID = UUID(uuid: (idBytes[0], idBytes[1], idBytes[2], idBytes[3], idBytes[4], idBytes[5], idBytes[6], idBytes[7],
                                      idBytes[8], idBytes[9], idBytes[10], idBytes[11], idBytes[12], idBytes[13], idBytes[14], idBytes[15]))
        self.offset = offset
        self.data = buffer
    }

    /// Writes the header into `buffer`; the caller writes the file bytes after it.
    public static func writeHeader(transferID: UUID, offset: UInt64, into buffer: inout ByteBuffer) {
        buffer.writeInteger(BinaryFrameKind.fileData.rawValue)
        withUnsafeBytes(of: transferID.uuid) { buffer.writeBytes($0) }
        buffer.writeInteger(offset, endianness: .big)
    }

    /// The whole frame payload (without the length field).
    public func encodedFrame(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Self.headerSize + self.data.readableBytes)
        Self.writeHeader(transferID: self.transferID, offset: self.offset, into: &buffer)
        var data = self.data
        buffer.writeBuffer(&data)
        return buffer
    }
}
