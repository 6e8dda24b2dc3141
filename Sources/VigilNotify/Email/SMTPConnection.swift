import NIOCore
import NIOPosix
import NIOSSL

/// One connection to an SMTP server: send a command, await its reply, upgrade to TLS in place.
/// A thin, `Sendable` face for async code over a channel whose ``SMTPReplyHandler`` lives on the
/// event loop (every access goes through the loop).
struct SMTPConnection: Sendable {
    let channel: any Channel
    /// Held here, not looked up in the pipeline: after a failed TLS handshake the pipeline is torn
    /// down, and the handler still knows why.
    let handler: NIOLoopBound<SMTPReplyHandler>

    /// Connects to `host:port`; with `tls`, TLS starts at once (implicit TLS, SMTPS).
    static func connect(host: String, port: Int, tls: NIOSSLContext?, connectTimeout: Duration, group: any EventLoopGroup) async throws -> SMTPConnection {
        let serverHostname = Self.sniName(host)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler())
                }
            }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return SMTPConnection(channel: channel, handler: handler)
    }

    /// The host for SNI and certificate name checks; nil for an IP address, which NIOSSL then
    /// checks against the certificate's IP addresses.
    static func sniName(_ host: String) -> String? {
        if (try? SocketAddress(ipAddress: host, port: 0)) != nil { return nil }
        return host
    }

    /// Sends `command` (nothing for the greeting) and waits at most `limit` for the reply.
    func exchange(_ command: SMTPCommand?, limit: Duration) async throws -> SMTPReply {
        try await self.exchange(bytes: command.map { Array($0.line.utf8) }, stage: command?.shown ?? "greeting", limit: limit)
    }

    /// Sends raw `bytes` (the message in the DATA phase) and waits for the reply.
    func exchange(bytes: [UInt8]?, stage: String, limit: Duration) async throws -> SMTPReply {
        let channel = self.channel
        let handler = self.handler
        let future = channel.eventLoop.flatSubmit { () -> EventLoopFuture<SMTPReply> in
            let reply = handler.value.nextReply(stage: stage, limit: limit, on: channel.eventLoop)
            if let bytes { channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil) }
            return reply
        }
        // The delivery's overall time limit cancels this task: close, which fails the wait at once.
        return try await withTaskCancellationHandler {
            try await future.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// After the server's `220` to STARTTLS: puts TLS under the SMTP handler on this same channel.
    /// Refuses when the server already sent more (see ``SMTPReplyHandler/hasUnreadInput``).
    func startTLS(_ context: NIOSSLContext, host: String) async throws {
        let channel = self.channel
        let handler = self.handler
        let serverHostname = Self.sniName(host)
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            channel.eventLoop.makeCompletedFuture {
                guard !handler.value.hasUnreadInput else {
                    throw SMTPError.refused("the server sent data before the TLS handshake (after STARTTLS): refusing to go on")
                }
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: context, serverHostname: serverHostname), position: .first
                )
            }
        }.get()
    }

    func close() async {
        try? await self.channel.close()
    }
}
