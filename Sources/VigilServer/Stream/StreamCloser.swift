import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization
import VigilProtocol

/// Closes one stream connection once, with a code and a reason, without waiting on the client.
///
/// The close frame is sent from its own task: a client that stopped reading has full buffers, so
/// the frame may never go out. The connection is cut after `stream.close_timeout` whatever
/// happened (closing a channel already closed does nothing).
final class StreamCloser: Sendable {
    private let started = Atomic<Bool>(false)
    private let outbound: WebSocketOutboundWriter
    private let channel: any Channel
    private let timeout: Duration

    init(outbound: WebSocketOutboundWriter, channel: any Channel, timeout: Duration) {
        self.outbound = outbound
        self.channel = channel
        self.timeout = timeout
    }

    /// Whether the connection is closing (requests read after this are ignored).
    var isClosing: Bool { self.started.load(ordering: .acquiring) }

    /// Sends a close frame (first call only) and cuts the connection after the timeout.
    func close(_ code: WebSocketErrorCode, reason: String) {
        guard !self.started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let outbound = self.outbound
        Task { try? await outbound.close(code, reason: reason) }
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: self.timeout.timeAmount) { channel.close(promise: nil) }
    }
}
