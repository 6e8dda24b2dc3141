#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import VigilProtocol
import VigilTransfer

/// What happens to one file while it is sent, for progress displays.
public enum FileTransferEvent: Sendable, Equatable {
    /// The receiver said FILE_READY: bytes go from `offset` (non-zero: resuming what it already has).
    case started(offset: UInt64, chunkSize: Int)
    /// `bytes` of the file are now written to the connection (counting the resumed prefix).
    case progress(bytes: UInt64)
    /// The connection was lost; the file is offered again once the client has reconnected.
    case interrupted(reason: String)
    /// The receiver is busy with this transfer (an older connection still holds it); trying again shortly.
    case busy(reason: String)
}

/// How one file ended.
public enum FileOutcome: Sendable, Equatable {
    /// Verified and stored by the receiver.
    case saved(FileSavedPayload)
    /// The receiver already had it from an earlier run (`duplicate`): nothing was sent again.
    case alreadyStored(FileErrorPayload)
    /// Refused before any byte (too large, over quota, invalid name, …).
    case rejected(FileErrorPayload)
    /// Refused after the bytes (checksum or size mismatch, disk error): nothing partial is kept.
    case failed(FileErrorPayload)

    public var succeeded: Bool {
        switch self {
        case .saved, .alreadyStored: true
        case .rejected, .failed: false
        }
    }
}

/// Sends files over a ``ClientConnection``: offer, wait for FILE_READY or FILE_REJECT, stream the
/// bytes from the receiver's offset as binary data frames, wait for FILE_SAVED or FILE_FAILED.
///
/// Bytes are read with `pread` on a thread pool, one frame ahead of the network, and written only
/// while the channel is writable, so memory stays at a few chunks whatever the file's size. When
/// the connection drops, the same transfer id is offered again after the reconnect and the receiver
/// answers with the offset it has durably written: only the rest is sent.
public struct FileSender: Sendable {
    public let connection: ClientConnection
    /// How often `transfer_busy` is retried before giving up on the file.
    public var busyRetries = 30
    public var busyDelay: Duration = .seconds(1)

    public init(connection: ClientConnection) {
        self.connection = connection
    }

    /// Sends one file and returns how it ended.
    ///
    /// - Throws: ``ClientError/stopped(_:)`` when the client stops (refused key, gave up);
    ///   `TransferError` when the local file cannot be read or changed size; ``ClientError/refused(code:message:)``
    ///   when the server answers the offer with an error instead of FILE_READY / FILE_REJECT.
    public func send(_ file: PreparedFile, events: @escaping @Sendable (FileTransferEvent) -> Void = { _ in }) async throws -> FileOutcome {
        let reading = try await OutgoingFile.open(path: file.path)
        defer { reading.close() }
        guard reading.size == file.size else {
            throw TransferError(.sizeMismatch, "\(file.path) changed size since it was hashed (\(file.size) → \(reading.size) bytes)")
        }
        guard let uuid = UUID(uuidString: file.transferID) else {
            throw TransferError(.invalidOffer, "transfer id \(file.transferID) is not a UUID")
        }
        var busy = 0
        while true {
            _ = try await self.connection.waitUntilRegistered()
            let answer: OfferAnswer
            do {
                answer = try await self.connection.offer(file.offer)
            } catch ClientError.connectionLost(let reason) {
                events(.interrupted(reason: reason))
                continue
            }
            switch answer {
            case .rejected(let reject) where reject.code == .duplicate:
                return .alreadyStored(reject)
            case .rejected(let reject) where reject.code == .transferBusy && busy < self.busyRetries:
                busy += 1
                events(.busy(reason: reject.reason))
                try await Task.sleep(for: self.busyDelay)
                continue
            case .rejected(let reject):
                return .rejected(reject)
            case .ready(let ready, let link):
                events(.started(offset: ready.offset, chunkSize: ready.chunkSize))
                do {
                    return try await self.stream(file, uuid: uuid, reading: reading, ready: ready, link: link, events: events)
                } catch ClientError.connectionLost(let reason) {
                    events(.interrupted(reason: reason))
                    continue
                }
            }
        }
    }

    /// Streams the bytes and waits for the receiver's verdict, whichever comes first: a FILE_FAILED
    /// in the middle stops the stream.
    private func stream(_ file: PreparedFile, uuid: UUID, reading: OutgoingFile, ready: FileReadyPayload, link: RegisteredLink, events: @escaping @Sendable (FileTransferEvent) -> Void) async throws -> FileOutcome {
        guard ready.offset <= file.size else {
            return .failed(FileErrorPayload(transferID: file.transferID, code: .badOffset, reason: "the receiver asked for offset \(ready.offset) of a \(file.size)-byte file"))
        }
        let chunk = max(1, min(ready.chunkSize, link.serverMaxFrameSize - FileDataFrame.headerSize, self.connection.settings.maxChunkSize))
        let result = try await withThrowingTaskGroup(of: FileResult?.self) { tasks in
            tasks.addTask {
                try await Self.pump(file, uuid: uuid, reading: reading, from: ready.offset, chunk: chunk, link: link.link, events: events)
                return nil
            }
            tasks.addTask {
                try await self.connection.fileResult(transferID: file.transferID)
            }
            while let next = try await tasks.next() {
                if let result = next {
                    tasks.cancelAll()
                    return result
                }
            }
            throw ClientError.connectionLost("the connection ended before the receiver answered")
        }
        switch result {
        case .saved(let saved): return .saved(saved)
        case .failed(let failed): return .failed(failed)
        }
    }

    /// Writes the file from `offset` as data frames, reading the next frame while the current one is written.
    private static func pump(_ file: PreparedFile, uuid: UUID, reading: OutgoingFile, from offset: UInt64, chunk: Int, link: ConnectionLink, events: @Sendable (FileTransferEvent) -> Void) async throws {
        guard offset < file.size else { return }
        @Sendable func frame(at position: UInt64) async throws -> ByteBuffer {
            try await reading.readFrame(transferID: uuid, at: position, count: Int(min(UInt64(chunk), file.size - position)))
        }
        var position = offset
        var current = try await frame(at: position)
        while true {
            let end = position + UInt64(current.readableBytes - FileDataFrame.headerSize)
            if end >= file.size {
                try await Self.write(current, to: link)
                events(.progress(bytes: end))
                return
            }
            async let following = frame(at: end)
            try await Self.write(current, to: link)
            events(.progress(bytes: end))
            current = try await following
            position = end
        }
    }

    /// One frame, waiting while the channel is not writable.
    private static func write(_ frame: ByteBuffer, to link: ConnectionLink) async throws {
        try Task.checkCancellation()
        do {
            try await link.outbound.write(frame)
        } catch {
            throw ClientError.connectionLost("\(error)")
        }
    }
}
