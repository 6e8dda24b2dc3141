import Foundation
import NIOCore
import VigilTransfer

/// One file being received on a connection: where it is in the exchange and the bytes waiting for
/// the disk. Used on the connection's event loop only.
final class IncomingTransfer {
    enum Phase {
        /// Offered; the catalog and the disk are being asked, the partial opened. No data yet.
        case opening
        /// `FILE_READY` sent; data frames are taken at `expectedOffset`.
        case receiving(PartialFile)
        /// All bytes written; being verified, moved into place and recorded.
        case finishing
    }

    /// Why a transfer is over while a write is still running (what to do with the partial after it).
    enum Ending {
        /// `FILE_FAILED` was sent: delete the partial.
        case failed
        /// The connection closed: keep the partial for a resume.
        case stopped
    }

    let manifest: TransferManifest
    /// `transfer_id` exactly as offered (answers quote it back).
    let offeredID: String
    var phase = Phase.opening
    /// The offset the next data frame must carry: bytes accepted so far, written or waiting.
    var expectedOffset: UInt64 = 0
    /// Accepted bytes not yet handed to the disk, in order.
    var pending: [ByteBuffer] = []
    var pendingBytes = 0
    /// A write is running on the thread pool (one at a time keeps the bytes in order).
    var writing = false
    var ending: Ending?

    init(manifest: TransferManifest, offeredID: String) {
        self.manifest = manifest
        self.offeredID = offeredID
    }

    var id: UUID { self.manifest.transferID }

    /// All offered bytes have arrived (some may still be on their way to the disk).
    var isFullyReceived: Bool {
        if case .receiving = self.phase { return self.expectedOffset == self.manifest.size }
        return false
    }
}

@available(*, unavailable)
extension IncomingTransfer: Sendable {}
