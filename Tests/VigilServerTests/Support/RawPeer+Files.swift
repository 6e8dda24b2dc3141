import Foundation
import NIOCore
import VigilProtocol

extension RawPeer {
    /// Sends one binary file data frame (`0x01 | transfer id | offset | bytes`).
    func send(data frame: FileDataFrame) async throws {
        try await self.send(frame: Array(frame.encodedFrame().readableBytesView))
    }

    /// Sends `bytes` as data frames of at most `chunk` bytes, starting at `offset` in the file.
    func send(file bytes: ArraySlice<UInt8>, transferID: UUID, from offset: Int, chunk: Int) async throws {
        var position = offset
        while position < bytes.endIndex {
            let end = min(position + chunk, bytes.endIndex)
            try await self.send(data: FileDataFrame(transferID: transferID, offset: UInt64(position), data: ByteBuffer(bytes: bytes[position..<end])))
            position = end
        }
    }

    /// Reads envelopes until one that is not a `HEARTBEAT_ACK`.
    func nextAnswer(timeout: Duration = .seconds(10)) async throws -> Envelope.Body? {
        while let envelope = try await self.next(timeout: timeout) {
            if case .heartbeatAck = envelope.body { continue }
            return envelope.body
        }
        return nil
    }
}
