import Crypto
import Foundation
import NIOCore
import Synchronization
import Testing
import VigilClient
import VigilProtocol

/// The sending side of a transfer against a scripted receiver: the offer, data frames from the
/// receiver's offset, the resume after a cut, the answers.
@Suite("Client file sending (scripted server)")
struct ClientFileTests {
    /// A file of `size` pseudo-random bytes in a fresh directory.
    static func makeFile(size: Int, name: String = "data.bin") throws -> (url: URL, bytes: [UInt8]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return (url, bytes)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads the offer, answers FILE_READY at `offset`, and collects data frames until `limit` bytes
    /// (or the whole file) have arrived.
    static func receive(_ peer: ScriptedPeer, offset: UInt64, chunkSize: Int, until limit: UInt64) async throws -> (offer: FileOfferPayload, data: [UInt8]) {
        let envelope = try await peer.envelope()
        guard case .fileOffer(let offer) = envelope.body else { throw ScriptError("expected FILE_OFFER, got \(envelope.type)") }
        peer.send(.fileReady(FileReadyPayload(transferID: offer.transferID, offset: offset, chunkSize: chunkSize)))
        var data: [UInt8] = []
        var next = offset
        while next < min(limit, offer.size) {
            guard case .fileData(let frame)? = try await peer.next() else { throw ScriptError("expected a data frame") }
            #expect(frame.transferID.uuidString.lowercased() == offer.transferID)
            #expect(frame.offset == next, "frames come in order from the receiver's offset")
            #expect(frame.data.readableBytes <= chunkSize)
            data += Array(frame.data.readableBytesView)
            next += UInt64(frame.data.readableBytes)
        }
        return (offer, data)
    }

    @Test("offers name, size, SHA-256 and a derived transfer id; streams from the offset; reports FILE_SAVED")
    func sendsAFile() async throws {
        let (url, bytes) = try Self.makeFile(size: 300_000, name: "report é.bin")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: nil)
        #expect(file.sha256 == Self.hex(bytes))
        #expect(file.size == 300_000)
        #expect(file.filename == "report é.bin")
        #expect(file.transferID == TransferID.derive(sender: "alice", absolutePath: url.path, size: 300_000, sha256: file.sha256, recipient: nil))
        #expect(try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: nil).transferID == file.transferID, "the same file gets the same id again")
        #expect(try await PreparedFile.prepare(path: url.path, sender: "bob", recipient: nil).transferID != file.transferID)

        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        let progress = ProgressRecorder()
        let sending = Task { try await FileSender(connection: client.connection).send(file) { progress.record($0) } }
        let (offer, data) = try await Self.receive(peer, offset: 0, chunkSize: 64 << 10, until: .max)
        #expect(offer == FileOfferPayload(transferID: file.transferID, filename: file.filename, size: file.size, sha256: file.sha256))
        #expect(data == bytes)
        let saved = FileSavedPayload(transferID: file.transferID, fileID: "42", filename: file.filename, size: file.size, sha256: file.sha256)
        peer.send(.fileSaved(saved))
        #expect(try await sending.value == .saved(saved))
        #expect(progress.events.first == .started(offset: 0, chunkSize: 64 << 10))
        #expect(progress.events.last == .progress(bytes: 300_000))

        let ending = Task { try await client.connection.end() }
        let end = try await peer.envelope()
        guard case .end = end.body else { throw ScriptError("expected END, got \(end.type)") }
        peer.send(.serverResponse(ServerResponsePayload(success: true, message: "1 files saved, 0 failed", inReplyTo: end.messageID)))
        #expect(try await ending.value.message == "1 files saved, 0 failed")
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("a cut in the middle: the same transfer id is offered again and only the rest is sent")
    func resumesAfterACut() async throws {
        let (url, bytes) = try Self.makeFile(size: 1 << 20)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: "bob")
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        let first = try await server.accept()
        try await first.acceptRegistration()
        let progress = ProgressRecorder()
        let sending = Task { try await FileSender(connection: client.connection).send(file) { progress.record($0) } }
        let (offer, head) = try await Self.receive(first, offset: 0, chunkSize: 32 << 10, until: 400_000)
        #expect(offer.recipient == "bob")
        #expect(head == Array(bytes.prefix(head.count)))
        await first.close()

        // The receiver durably has less than it received: it says where to go on from.
        let durable: UInt64 = 256 << 10
        let second = try await server.accept()
        try await second.acceptRegistration()
        let (again, tail) = try await Self.receive(second, offset: durable, chunkSize: 32 << 10, until: .max)
        #expect(again.transferID == file.transferID)
        #expect(tail == Array(bytes[Int(durable)...]))
        let saved = FileSavedPayload(transferID: file.transferID, fileID: "7", filename: file.filename, size: file.size, sha256: file.sha256)
        second.send(.fileSaved(saved))
        #expect(try await sending.value == .saved(saved))
        #expect(progress.events.contains { if case .interrupted = $0 { true } else { false } })
        #expect(progress.events.contains(.started(offset: durable, chunkSize: 32 << 10)))
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("FILE_REJECT, duplicate, transfer_busy and a FILE_FAILED in the middle")
    func answers() async throws {
        let (url, _) = try Self.makeFile(size: 2 << 20)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let file = try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: nil)
        let server = try await ScriptedServer.start()
        defer { Task { await server.stop() } }
        let client = ClientHarness(ClientHarness.settings(port: server.port))
        let peer = try await server.accept()
        try await peer.acceptRegistration()
        var sender = FileSender(connection: client.connection)
        sender.busyDelay = .milliseconds(20)

        let tooLarge = FileErrorPayload(transferID: file.transferID, code: .fileTooLarge, reason: "the file is 2 MiB; the limit is 1 MiB")
        let rejected = Task { [sender] in try await sender.send(file) }
        _ = try await peer.envelope()
        peer.send(.fileReject(tooLarge))
        #expect(try await rejected.value == .rejected(tooLarge))

        let duplicate = FileErrorPayload(transferID: file.transferID, code: .duplicate, reason: "already saved", fileID: "9")
        let busy = FileErrorPayload(transferID: file.transferID, code: .transferBusy, reason: "open on another connection")
        let again = Task { [sender] in try await sender.send(file) }
        _ = try await peer.envelope()
        peer.send(.fileReject(busy))
        _ = try await peer.envelope()
        peer.send(.fileReject(duplicate))
        #expect(try await again.value == .alreadyStored(duplicate))

        let failing = Task { [sender] in try await sender.send(file) }
        _ = try await Self.receive(peer, offset: 0, chunkSize: 64 << 10, until: 64 << 10)
        let failure = FileErrorPayload(transferID: file.transferID, code: .ioError, reason: "disk full")
        peer.send(.fileFailed(failure))
        #expect(try await failing.value == .failed(failure))
        #expect(try await client.finish() == .left(unsent: 0))
    }

    @Test("a file that cannot be read, or whose name cannot be sent, is refused before any offer")
    func localProblems() async throws {
        await #expect(throws: (any Error).self) { _ = try await PreparedFile.prepare(path: "/nonexistent/file", sender: "alice", recipient: nil) }
        await #expect(throws: (any Error).self) { _ = try await PreparedFile.prepare(path: FileManager.default.temporaryDirectory.path, sender: "alice", recipient: nil) }
        let (url, _) = try Self.makeFile(size: 10, name: "bad\u{1}name")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            _ = try await PreparedFile.prepare(path: url.path, sender: "alice", recipient: nil)
            Issue.record("a name with a control character was accepted")
        } catch {
            #expect("\(error)".contains("invalid_name"))
        }
    }

    @Test("transfer ids are UUIDs, stable, and differ by sender, path, content and recipient")
    func transferIDs() {
        let id = TransferID.derive(sender: "alice", absolutePath: "/tmp/a", size: 1, sha256: "00", recipient: nil)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased())
        #expect(id == TransferID.derive(sender: "alice", absolutePath: "/tmp/a", size: 1, sha256: "00", recipient: nil))
        let others = [
            TransferID.derive(sender: "bob", absolutePath: "/tmp/a", size: 1, sha256: "00", recipient: nil),
            TransferID.derive(sender: "alice", absolutePath: "/tmp/b", size: 1, sha256: "00", recipient: nil),
            TransferID.derive(sender: "alice", absolutePath: "/tmp/a", size: 2, sha256: "00", recipient: nil),
            TransferID.derive(sender: "alice", absolutePath: "/tmp/a", size: 1, sha256: "01", recipient: nil),
            TransferID.derive(sender: "alice", absolutePath: "/tmp/a", size: 1, sha256: "00", recipient: "bob"),
        ]
        #expect(Set(others + [id]).count == 6)
    }
}

/// Collects a sender's progress events.
final class ProgressRecorder: Sendable {
    private let recorded = Mutex<[FileTransferEvent]>([])
    func record(_ event: FileTransferEvent) { self.recorded.withLock { $0.append(event) } }
    var events: [FileTransferEvent] { self.recorded.withLock { $0 } }
}
