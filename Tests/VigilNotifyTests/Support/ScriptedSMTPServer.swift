import NIOCore
import NIOPosix
import Synchronization

/// An SMTP server that answers from a script, for what a real server will not do on request: no
/// EHLO, bytes injected after STARTTLS, a 554 greeting, a command never answered. Each command
/// line (without CRLF) goes to `answer`, which returns the raw reply bytes to send (nil: send
/// nothing). The message data is answered with `answer("<data>")`.
final class ScriptedSMTPServer: Sendable {
    private let channel: any Channel
    private let log = Mutex<[String]>([])
    let port: Int

    /// Commands received, in order (`<data>` for a message).
    var commands: [String] { self.log.withLock { $0 } }

    init(greeting: String? = "220 scripted ESMTP\r\n", answer: @escaping @Sendable (String) -> String?) async throws {
        let box = Box()
        self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptHandler(greeting: greeting, answer: answer, record: { box.record($0) }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.port = self.channel.localAddress?.port ?? 0
        box.server.withLock { $0 = self }
    }

    final class Box: Sendable {
        let server = Mutex<ScriptedSMTPServer?>(nil)
        func record(_ line: String) {
            self.server.withLock { $0 }?.log.withLock { $0.append(line) }
        }
    }

    func stop() async {
        try? await self.channel.close()
    }
}

private final class ScriptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let greeting: String?
    let answer: @Sendable (String) -> String?
    let record: @Sendable (String) -> Void
    var pending: [UInt8] = []
    var inData = false

    init(greeting: String?, answer: @escaping @Sendable (String) -> String?, record: @escaping @Sendable (String) -> Void) {
        self.greeting = greeting
        self.answer = answer
        self.record = record
    }

    func channelActive(context: ChannelHandlerContext) {
        if let greeting { context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.pending += self.unwrapInboundIn(data).readableBytesView
        while let newline = self.pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: self.pending[..<newline], as: UTF8.self).trimmingSuffixCR()
            self.pending.removeFirst(newline + 1)
            let command: String
            if self.inData {
                guard line == "." else { continue }
                self.inData = false
                command = "<data>"
            } else {
                command = line
            }
            self.record(command)
            if command.uppercased() == "DATA" { self.inData = true }
            if let reply = self.answer(command) {
                context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
            }
            if command.uppercased() == "QUIT" { context.close(promise: nil) }
        }
    }
}

extension String {
    fileprivate func trimmingSuffixCR() -> String {
        self.hasSuffix("\r") ? String(self.dropLast()) : self
    }
}
