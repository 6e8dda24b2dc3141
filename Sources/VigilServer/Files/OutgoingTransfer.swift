import Foundation
import NIOCore
import VigilStore
import VigilTransfer

/// A stored file the server is passing on to the client of this connection: the server is the
/// sender (`FILE_OFFER` → client's `FILE_READY` → data frames → client's `FILE_SAVED`/`FILE_FAILED`).
/// Used on the connection's event loop only.
final class OutgoingTransfer {
    enum Phase {
        /// The file is being opened.
        case opening
        /// `FILE_OFFER` sent; waiting for `FILE_READY` or `FILE_REJECT`.
        case offered
        /// Sending data frames from `nextOffset`.
        case sending
        /// Every byte written; waiting for `FILE_SAVED` or `FILE_FAILED`.
        case awaitingResult
    }

    let file: StoredFile
    /// Stable per file and recipient, so a client that resumes sees the same transfer again.
    let transferID: UUID
    var phase = Phase.opening
    var source: OutgoingFile?
    var nextOffset: UInt64 = 0
    var chunkSize = 0
    /// Bytes being read from disk or written and not yet handed to the socket.
    var inFlight = 0
    /// A read is running on the thread pool (one at a time keeps frames in order).
    var reading = false
    /// When the client last did something for this transfer (answered, or took bytes off the socket).
    var lastProgress = NIODeadline.now()
    /// Fires `files.push_answer_timeout` after `lastProgress` (re-armed while there is progress).
    var answerTimer: Scheduled<Void>?

    init(file: StoredFile, transferID: UUID) {
        self.file = file
        self.transferID = transferID
    }

    var transferIDText: String { self.transferID.uuidString.lowercased() }
}

@available(*, unavailable)
extension OutgoingTransfer: Sendable {}
