import Crypto
import Foundation
import NIOCore
import Testing
import VigilProtocol
import VigilStore
@testable import VigilServer

/// The server passing stored files on to connected clients: after a `FILE_OFFER` with a
/// `recipient`, and on `POST /api/files/{id}/push`; resume after the recipient reconnects.
@Suite("File push to clients", .serialized)
struct FilePushTests {
    static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }

    private func withServer(_ configure: @escaping @Sendable (inout ServerSettings) -> Void = { _ in }, _ body: (TestServer) async throws -> Void) async throws {
        try await TestServer.with(configure, body)
    }

    private func connect(_ server: TestServer, as host: String) async throws -> RawPeer {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await peer.register(key: try await server.key(for: host), hostname: host)
        let reply = try #require(try await peer.response())
        #expect(reply.success, "register: \(reply.message)")
        return peer
    }

    /// Sends a file from `peer` (optionally for `recipient`) and returns the sender's answer.
    private func send(_ peer: RawPeer, _ name: String, _ bytes: [UInt8], recipient: String? = nil) async throws -> Envelope.Body? {
        let id = UUID()
        try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: id.uuidString, filename: name, size: UInt64(bytes.count), sha256: Self.sha256(bytes), recipient: recipient)), messageID: "offer"))
        guard case .fileReady(let ready) = try await peer.nextAnswer() else { return try await peer.nextAnswer() }
        try await peer.send(file: bytes[...], transferID: id, from: Int(ready.offset), chunk: ready.chunkSize)
        return try await peer.nextAnswer()
    }

    /// Reads frames until the server's `FILE_OFFER`.
    private func expectOffer(_ peer: RawPeer, sourceLocation: SourceLocation = #_sourceLocation) async throws -> FileOfferPayload {
        while let frame = try await peer.nextFrame(timeout: .seconds(10)) {
            if case .envelope(let envelope) = frame {
                if case .fileOffer(let offer) = envelope.body { return offer }
                if case .heartbeatAck = envelope.body { continue }
                Issue.record("expected FILE_OFFER, got \(envelope.type)", sourceLocation: sourceLocation)
            }
        }
        throw TimeoutError(description: "no FILE_OFFER")
    }

    /// Answers `FILE_READY` and reads the data frames up to `size`; returns the bytes from `offset`.
    private func receive(_ peer: RawPeer, _ offer: FileOfferPayload, from offset: UInt64 = 0, chunk: Int = 4096) async throws -> [UInt8] {
        try await peer.send(Envelope(.fileReady(FileReadyPayload(transferID: offer.transferID, offset: offset, chunkSize: chunk))))
        var bytes: [UInt8] = []
        var next = offset
        while next < offer.size {
            guard let frame = try await peer.nextFrame(timeout: .seconds(10)) else { throw TimeoutError(description: "closed while receiving") }
            guard case .fileData(let data) = frame else { continue }
            #expect(data.transferID == UUID(uuidString: offer.transferID))
            #expect(data.offset == next)
            #expect(data.data.readableBytes <= min(chunk, 256 << 10))
            bytes += Array(data.data.readableBytesView)
            next += UInt64(data.data.readableBytes)
        }
        return bytes
    }

    @Test("a send-only connection of the recipient (vigil send-file) is not offered its files: the recipient counts as offline")
    func sendOnlyTakesNoPushes() async throws {
        try await self.withServer { server in
            let key = try await server.key(for: "db-2")
            let known = try await RawPeer.connect(port: server.agentPort)
            try await known.register(key: key, hostname: "db-2")
            #expect(try await known.response()?.success == true)
            await known.close()
            let sendOnly = try await RawPeer.connect(port: server.agentPort)
            try await sendOnly.send(Envelope(.clientRegister(RegisterPayload(key: key, hostname: "db-2", capabilities: [RegisterPayload.sendOnlyCapability])), messageID: "reg"))
            #expect(try await sendOnly.response()?.success == true)
            let sender = try await self.connect(server, as: "web-1")
            let bytes = FileTransferTests.random(10_000)
            try await sender.send(Envelope(.fileOffer(FileOfferPayload(transferID: UUID().uuidString, filename: "report.bin", size: UInt64(bytes.count), sha256: Self.sha256(bytes), recipient: "db-2")), messageID: "offer"))
            guard case .fileReject(let reject) = try await sender.nextAnswer() else {
                Issue.record("expected FILE_REJECT recipient_offline")
                return
            }
            #expect(reject.code == .recipientOffline)
            // Whatever reaches the send-only connection in the next moments, no FILE_OFFER is among it.
            while let frame = try? await sendOnly.nextFrame(timeout: .milliseconds(300)) {
                if case .envelope(let envelope) = frame, case .fileOffer = envelope.body {
                    Issue.record("the send-only connection was offered a file")
                }
            }
            await sendOnly.close()
            await sender.close()
        }
    }

    @Test("a file offered with a recipient is saved, then offered to the recipient, who gets it whole")
    func pushAfterOffer() async throws {
        try await self.withServer { server in
            let recipient = try await self.connect(server, as: "db-2")
            let sender = try await self.connect(server, as: "web-1")
            let bytes = FileTransferTests.random(100_000)
            guard case .fileSaved(let saved) = try await self.send(sender, "report.bin", bytes, recipient: "db-2") else {
                Issue.record("expected FILE_SAVED")
                return
            }
            let offer = try await self.expectOffer(recipient)
            #expect(offer.sender == "web-1")
            #expect(offer.filename == "report.bin")
            #expect(offer.size == UInt64(bytes.count))
            #expect(offer.sha256 == Self.sha256(bytes))
            #expect(offer.recipient == nil)
            let received = try await self.receive(recipient, offer)
            #expect(received == bytes)
            try await recipient.send(Envelope(.fileSaved(FileSavedPayload(transferID: offer.transferID, fileID: "local-1", filename: "report.bin", size: offer.size, sha256: offer.sha256))))
            try await eventually(timeout: .seconds(2), "the push to be logged") { server.logs.contains("passing a file on: client saved the file") }
            let listed = try await server.http("GET", "/api/files?sender=web-1")
            let first = ((listed.json as? [String: Any])?["files"] as? [[String: Any]])?.first
            #expect(first?["id"] as? String == saved.fileID)
            #expect(first?["recipient"] as? String == "db-2")
            await sender.close()
            await recipient.close()
        }
    }

    @Test("a recipient that does not answer within files.push_answer_timeout gets the next file; the silent one comes again on its next connection")
    func silentRecipient() async throws {
        try await self.withServer({ $0.filePushAnswerTimeout = .milliseconds(500) }) { server in
            let recipient = try await self.connect(server, as: "db-2")
            let sender = try await self.connect(server, as: "web-1")
            let first = FileTransferTests.random(3000)
            let second = FileTransferTests.random(4000)
            guard case .fileSaved = try await self.send(sender, "first.bin", first, recipient: "db-2") else { Issue.record("expected FILE_SAVED"); return }
            guard case .fileSaved = try await self.send(sender, "second.bin", second, recipient: "db-2") else { Issue.record("expected FILE_SAVED"); return }
            // The recipient stays silent about the first offer...
            let ignored = try await self.expectOffer(recipient)
            #expect(ignored.filename == "first.bin")
            // ...so after the timeout the queue goes on with the second.
            let next = try await self.expectOffer(recipient)
            #expect(next.filename == "second.bin")
            #expect(server.logs.contains("no answer from the client"))
            // A late answer to the set-aside file is not a protocol error.
            try await recipient.send(Envelope(.fileReject(FileErrorPayload(transferID: ignored.transferID, code: .ioError, reason: "late"))))
            let received = try await self.receive(recipient, next)
            #expect(received == second)
            try await recipient.send(Envelope(.fileSaved(FileSavedPayload(transferID: next.transferID, fileID: "local-2", filename: "second.bin", size: next.size, sha256: next.sha256))))
            try await eventually(timeout: .seconds(2), "the second push to end") { server.logs.contains("passing a file on: client saved the file") }
            #expect(!server.logs.contains("unknown_transfer"))
            await recipient.close()

            // The next connection is offered the silent one again, under the same transfer id.
            let back = try await self.connect(server, as: "db-2")
            let again = try await self.expectOffer(back)
            #expect(again.filename == "first.bin")
            #expect(again.transferID == ignored.transferID)
            #expect(try await self.receive(back, again) == first)
            await back.close()
            await sender.close()
        }
    }

    @Test("a large file is passed on in order through a small window")
    func largePush() async throws {
        try await self.withServer({ settings in
            settings.fileChunkSize = 16 << 10
            settings.fileMaxBufferedBytes = 32 << 10
        }) { server in
            let recipient = try await self.connect(server, as: "db-2")
            let sender = try await self.connect(server, as: "web-1")
            let bytes = FileTransferTests.random(3 << 20)
            guard case .fileSaved = try await self.send(sender, "big.bin", bytes, recipient: "db-2") else { Issue.record("expected FILE_SAVED"); return }
            let offer = try await self.expectOffer(recipient)
            // The client asks for bigger chunks than the server's: the server's chunk_size wins.
            let received = try await self.receive(recipient, offer, chunk: 1 << 20)
            #expect(received.count == bytes.count)
            #expect(Self.sha256(received) == Self.sha256(bytes))
            await sender.close()
            await recipient.close()
        }
    }

    @Test("a recipient that never registered, or is not connected, is refused before any byte")
    func recipientOffline() async throws {
        try await self.withServer { server in
            let sender = try await self.connect(server, as: "web-1")
            func offer(to recipient: String) async throws -> FileErrorPayload? {
                try await sender.send(Envelope(.fileOffer(FileOfferPayload(transferID: UUID().uuidString, filename: "a", size: 1, sha256: String(repeating: "a", count: 64), recipient: recipient))))
                guard case .fileReject(let reject) = try await sender.nextAnswer() else { Issue.record("expected FILE_REJECT"); return nil }
                return reject
            }
            #expect(try await offer(to: "nobody")?.code == .unknownRecipient)
            let gone = try await self.connect(server, as: "db-2")
            await gone.close()
            try await eventually(timeout: .seconds(2), "db-2 to be offline") { !server.server.files.pushes.isOnline("db-2") }
            let offline = try await offer(to: "db-2")
            #expect(offline?.code == .recipientOffline)
            #expect(offline?.reason.contains("not connected") == true)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: server.directory.path + "/files/.partial"))?.isEmpty ?? true)
            await sender.close()
        }
    }

    @Test("POST /api/files/{id}/push offers a stored file; refusals and a resume after reconnecting")
    func pushOverHTTP() async throws {
        try await self.withServer { server in
            let sender = try await self.connect(server, as: "web-1")
            let bytes = FileTransferTests.random(50_000)
            guard case .fileSaved(let saved) = try await self.send(sender, "data.bin", bytes) else { Issue.record("expected FILE_SAVED"); return }
            let body = { (to: String) in Data("{\"to\": \"\(to)\"}".utf8) }
            // db-2 has never registered; then registers and leaves: offline.
            #expect(try await server.http("POST", "/api/files/\(saved.fileID)/push", body: body("db-2")).status == 404)
            let gone = try await self.connect(server, as: "db-2")
            await gone.close()
            try await eventually(timeout: .seconds(2), "db-2 to be offline") { !server.server.files.pushes.isOnline("db-2") }
            let offline = try await server.http("POST", "/api/files/\(saved.fileID)/push", body: body("db-2"))
            #expect(offline.status == 409)
            #expect((offline.json as? [String: Any])?["error"] as? String == "recipient_offline")
            #expect(try await server.http("POST", "/api/files/\(UUID().uuidString)/push", body: body("db-2")).status == 404)
            #expect(try await server.http("POST", "/api/files/\(saved.fileID)/push", body: Data("{}".utf8)).status == 400)

            let recipient = try await self.connect(server, as: "db-2")
            let accepted = try await server.http("POST", "/api/files/\(saved.fileID)/push", body: body("db-2"))
            #expect(accepted.status == 202)
            let offer = try await self.expectOffer(recipient)
            #expect((accepted.json as? [String: Any])?["transfer_id"] as? String == offer.transferID)
            // Take part of it, then drop the connection: the offer comes again on the next one.
            try await recipient.send(Envelope(.fileReady(FileReadyPayload(transferID: offer.transferID, offset: 0, chunkSize: 1000))))
            _ = try await recipient.nextFrame()
            await recipient.close()

            let again = try await self.connect(server, as: "db-2")
            let second = try await self.expectOffer(again)
            #expect(second.transferID == offer.transferID)
            let rest = try await self.receive(again, second, from: 20_000, chunk: 8192)
            #expect(rest == Array(bytes[20_000...]))
            try await again.send(Envelope(.fileFailed(FileErrorPayload(transferID: second.transferID, code: .checksumMismatch, reason: "test"))))
            try await eventually(timeout: .seconds(2), "the failure to be logged") { server.logs.contains("passing a file on: client could not save the file") }
            // Answers for a transfer the server is not offering are protocol errors.
            try await again.send(Envelope(.fileSaved(FileSavedPayload(transferID: second.transferID, fileID: "x", filename: "x", size: 1, sha256: offer.sha256))))
            #expect(try await again.response()?.code == .unknownTransfer)
            await again.close()
            await sender.close()
        }
    }
}
