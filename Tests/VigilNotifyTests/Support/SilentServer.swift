import NIOCore
import NIOPosix

/// Accepts TCP connections and never sends a byte: an SMTP server that never greets.
final class SilentServer: Sendable {
    private let channel: any Channel
    let port: Int

    init() async throws {
        self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        self.port = self.channel.localAddress?.port ?? 0
    }

    func stop() async {
        try? await self.channel.close()
    }
}
