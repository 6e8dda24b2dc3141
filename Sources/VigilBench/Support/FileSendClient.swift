import Crypto
import Foundation
import NIOCore
import NIOPosix
import VigilConnection
import VigilProtocol

/// Sends one file to a server the way `vigil send-file` does, timing the phases: register as a
/// user, offer, stream binary data frames from the server's offset while the socket takes them
/// (reading the file off the event loop), and wait for `FILE_SAVED`.
struct FileSendClient {
    struct Timing: Sendable {
        /// From the first data frame written to `FILE_SAVED` (the server has verified and renamed the file).
        var transferSeconds: Double
        /// From the offer to `FILE_READY`.
        var readySeconds: Double
        var saved: FileSavedPayload
    }

    let port: Int
    let group: any EventLoopGroup
    /// TLS pinned to the server's CA (`--tls`); `nil`: plaintext.
    var tls: ClientTLS? = nil

    /// SHA-256 of a file, read in 1 MiB pieces (the sender's cost before it can offer).
    static func sha256(path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BenchmarkError("cannot open \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            hasher.update(data: data)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func send(path: String, size: UInt64, sha256: String, as name: String, timeout: Duration) async throws -> Timing {
        let loop = self.group.next()
        let result = loop.makePromise(of: Timing.self)
        let offer = FileOfferPayload(transferID: UUID().uuidString.lowercased(), filename: URL(fileURLWithPath: path).lastPathComponent, size: size, sha256: sha256)
        let fileHandle = try await NonBlockingFileIO(threadPool: .singleton).openFile(_deprecatedPath: path, mode: .read, eventLoop: loop).get()
        var dialer = try ServerDialer(connectTimeout: timeout, maxFrameSize: 16 << 20, tls: self.tls)
        dialer.keepAlive = false
        let channel: any Channel
        do {
            channel = try await dialer.connect(to: ServerAddress(host: "127.0.0.1", port: self.port), group: loop) { pipeline in
                try pipeline.addHandler(FileSendHandler(name: name, offer: offer, file: fileHandle, result: result))
            }
        } catch {
            result.fail(error)
            try? fileHandle.close()
            throw error
        }
        let timer = loop.scheduleTask(in: timeout.timeAmount) {
            result.fail(BenchmarkError("file transfer did not finish within \(timeout)"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
            try? fileHandle.close()
        }
        return try await result.futureResult.get()
    }
}

private final class FileSendHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let name: String
    private let offer: FileOfferPayload
    private let file: NIOFileHandle
    private let result: EventLoopPromise<Timing>
    private var offeredAt: NIODeadline?
    private var readyAt: NIODeadline?
    private var firstByteAt: NIODeadline?
    private var registered = false
    /// Fulfilled when the channel becomes writable again (backpressure for the file reader).
    private var writable: EventLoopPromise<Void>?

    typealias Timing = FileSendClient.Timing

    init(name: String, offer: FileOfferPayload, file: NIOFileHandle, result: EventLoopPromise<Timing>) {
        self.name = name
        self.offer = offer
        self.file = file
        self.result = result
    }

    func channelActive(context: ChannelHandlerContext) {
        let register = Envelope(.clientRegister(RegisterPayload(key: nil, hostname: self.name, capabilities: ["heartbeat", "files"], agentVersion: "vigil-bench/1", kind: .user)),
                                messageID: UUID().uuidString.lowercased())
        context.writeAndFlush(self.wrapOutboundOut(register.encodedFrame(allocator: context.channel.allocator)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let envelope = try? Envelope.decode(jsonFrame: self.unwrapInboundIn(data)) else { return }
        switch envelope.body {
        case .serverResponse(let response) where !self.registered:
            guard response.success else {
                self.result.fail(BenchmarkError("registration refused: \(response.message)"))
                return
            }
            self.registered = true
            self.offeredAt = .now()
            let offer = Envelope(.fileOffer(self.offer), messageID: UUID().uuidString.lowercased())
            context.writeAndFlush(self.wrapOutboundOut(offer.encodedFrame(allocator: context.channel.allocator)), promise: nil)
        case .serverResponse(let response) where !response.success:
            self.result.fail(BenchmarkError("server: \(response.code?.rawValue ?? "-"): \(response.message)"))
        case .fileReady(let ready):
            self.readyAt = .now()
            self.stream(context, from: ready.offset, chunkSize: ready.chunkSize)
        case .fileReject(let reject):
            self.result.fail(BenchmarkError("FILE_REJECT \(reject.code?.rawValue ?? "-"): \(reject.reason)"))
        case .fileFailed(let failed):
            self.result.fail(BenchmarkError("FILE_FAILED \(failed.code?.rawValue ?? "-"): \(failed.reason)"))
        case .fileSaved(let saved):
            let now = NIODeadline.now()
            let seconds = { (from: NIODeadline?, to: NIODeadline?) in Double(((to ?? now) - (from ?? now)).nanoseconds) / 1e9 }
            self.result.succeed(Timing(transferSeconds: seconds(self.firstByteAt, now), readySeconds: seconds(self.offeredAt, self.readyAt), saved: saved))
        default:
            break
        }
    }

    private func stream(_ context: ChannelHandlerContext, from offset: UInt64, chunkSize: Int) {
        guard let transferID = UUID(uuidString: self.offer.transferID) else { return }
        let channel = context.channel
        let io = NonBlockingFileIO(threadPool: .singleton)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        var position = offset
        self.firstByteAt = .now()
        io.readChunked(
            fileHandle: self.file, fromOffset: Int64(offset), byteCount: Int(self.offer.size - offset),
            chunkSize: chunkSize, allocator: channel.allocator, eventLoop: context.eventLoop
        ) { chunk in
            var chunk = chunk
            var frame = channel.allocator.buffer(capacity: FileDataFrame.headerSize + chunk.readableBytes)
            FileDataFrame.writeHeader(transferID: transferID, offset: position, into: &frame)
            position += UInt64(chunk.readableBytes)
            frame.writeBuffer(&chunk)
            channel.writeAndFlush(frame, promise: nil)
            // Backpressure: read the next chunk only once the socket takes more.
            if channel.isWritable { return channel.eventLoop.makeSucceededVoidFuture() }
            let promise = channel.eventLoop.makePromise(of: Void.self)
            handler.value.writable = promise
            return promise.futureResult
        }.whenFailure { error in
            handler.value.result.fail(BenchmarkError("reading the file: \(error)"))
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let promise = self.writable {
            self.writable = nil
            promise.succeed()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.writable?.fail(BenchmarkError("connection closed"))
        self.result.fail(BenchmarkError("connection closed by the server"))
    }
}
