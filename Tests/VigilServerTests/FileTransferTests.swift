import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import Testing
import VigilProtocol
import VigilStore
@testable import VigilServer

/// File transfer over real TCP against a real server: offers and every refusal, data frames,
/// verification, resume after a dropped connection and after a restart, `END`, and the HTTP routes.
@Suite("File transfer", .serialized)
struct FileTransferTests {
    // MARK: Helpers

    static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }

    /// Random bytes, eight at a time (cheap even in debug builds, so timing tests running beside these are not starved).
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            var i = 0
            while i < count {
                var word = generator.next()
                let n = min(8, count - i)
                withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: i).copyMemory(from: $0.baseAddress!, byteCount: n) }
                i += n
            }
        }
        return bytes
    }

    private func withServer(directory: URL? = nil, _ configure: @escaping @Sendable (inout ServerSettings) -> Void = { _ in }, _ body: (TestServer) async throws -> Void) async throws {
        try await TestServer.with(directory: directory, configure, body)
    }

    /// A registered peer.
    private func connect(_ server: TestServer, as host: String = "web-1") async throws -> RawPeer {
        let peer = try await RawPeer.connect(port: server.agentPort)
        try await peer.register(key: try await server.key(for: host), hostname: host)
        let reply = try #require(try await peer.response())
        #expect(reply.success, "register: \(reply.message)")
        return peer
    }

    private func offer(_ peer: RawPeer, _ id: UUID, _ name: String, size: Int, sha256: String, recipient: String? = nil) async throws -> Envelope.Body? {
        try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: id.uuidString.lowercased(), filename: name, size: UInt64(size), sha256: sha256, recipient: recipient)), messageID: UUID().uuidString))
        return try await peer.nextAnswer()
    }

    /// Offers and expects `FILE_READY`; returns its offset and chunk size.
    private func expectReady(_ peer: RawPeer, _ id: UUID, _ name: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws -> (offset: Int, chunk: Int) {
        let answer = try await self.offer(peer, id, name, size: bytes.count, sha256: Self.sha256(bytes))
        guard case .fileReady(let ready) = answer else {
            Issue.record("expected FILE_READY, got \(String(describing: answer))", sourceLocation: sourceLocation)
            throw TimeoutError(description: "no FILE_READY")
        }
        #expect(ready.transferID == id.uuidString.lowercased(), sourceLocation: sourceLocation)
        return (Int(ready.offset), ready.chunkSize)
    }

    /// Offers and expects `FILE_REJECT` with `code`; returns the payload.
    private func expectReject(_ peer: RawPeer, _ id: UUID, _ name: String, size: Int, sha256: String = String(repeating: "a", count: 64), code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation) async throws -> FileErrorPayload? {
        let answer = try await self.offer(peer, id, name, size: size, sha256: sha256)
        guard case .fileReject(let reject) = answer else {
            Issue.record("expected FILE_REJECT \(code.rawValue), got \(String(describing: answer))", sourceLocation: sourceLocation)
            return nil
        }
        #expect(reject.code == code, "reason: \(reject.reason)", sourceLocation: sourceLocation)
        return reject
    }

    private func expectSaved(_ peer: RawPeer, _ id: UUID, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws -> FileSavedPayload? {
        let answer = try await peer.nextAnswer()
        guard case .fileSaved(let saved) = answer else {
            Issue.record("expected FILE_SAVED, got \(String(describing: answer))", sourceLocation: sourceLocation)
            return nil
        }
        #expect(saved.transferID == id.uuidString.lowercased(), sourceLocation: sourceLocation)
        #expect(saved.size == UInt64(bytes.count), sourceLocation: sourceLocation)
        #expect(saved.sha256 == Self.sha256(bytes), sourceLocation: sourceLocation)
        return saved
    }

    /// Offers, sends every byte in chunks of the server's size, and expects `FILE_SAVED`.
    private func send(_ peer: RawPeer, _ name: String, _ bytes: [UInt8], id: UUID = UUID()) async throws -> FileSavedPayload? {
        let ready = try await self.expectReady(peer, id, name, bytes)
        try await peer.send(file: bytes[...], transferID: id, from: ready.offset, chunk: ready.chunk)
        return try await self.expectSaved(peer, id, bytes)
    }

    private func filesDirectory(_ server: TestServer) -> String { server.directory.path + "/files" }

    private func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// `GET /api/files/{id}`: status, headers (lower-case names) and the body's bytes.
    private func download(_ server: TestServer, _ id: String) async throws -> (status: Int, headers: [String: String], body: [UInt8]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.httpPort)/api/files/\(id)")!)
        request.setValue("Bearer \(try await server.adminAccessToken())", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers["\(name)".lowercased()] = "\(value)" }
        return (http.statusCode, headers, Array(data))
    }

    // MARK: Saving

    @Test("a small file is saved with its SHA-256, listed and downloadable")
    func smallFile() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let bytes = Array("hello, files\n".utf8)
            let saved = try #require(try await self.send(peer, "hello.txt", bytes))
            #expect(saved.filename == "hello.txt")
            let path = self.filesDirectory(server) + "/web-1/hello.txt"
            #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
            #expect(self.names(in: self.filesDirectory(server) + "/.partial").isEmpty)

            let list = try await server.http("GET", "/api/files")
            #expect(list.status == 200)
            let files = try #require((list.json as? [String: Any])?["files"] as? [[String: Any]])
            #expect(files.count == 1)
            #expect(files.first?["id"] as? String == saved.fileID)
            #expect(files.first?["filename"] as? String == "hello.txt")
            #expect(files.first?["sender"] as? String == "web-1")
            #expect(files.first?["size"] as? Int == bytes.count)
            #expect(files.first?["sha256"] as? String == Self.sha256(bytes))
            #expect(files.first?["created_at"] is String)

            let got = try await self.download(server, saved.fileID)
            #expect(got.status == 200)
            #expect(got.body == bytes)
            #expect(got.headers["content-length"] == "\(bytes.count)")
            #expect(got.headers["etag"] == "\"\(Self.sha256(bytes))\"")
            #expect(got.headers["x-vigil-sha256"] == Self.sha256(bytes))
            #expect(got.headers["content-disposition"] == "attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt")
            #expect(got.headers["content-type"] == "application/octet-stream")
            await peer.close()
        }
    }

    @Test("a multi-chunk file arrives whole through backpressure, and a second one with the same name gets a counter")
    func multiChunk() async throws {
        try await self.withServer({ settings in
            settings.fileChunkSize = 16 << 10
            settings.fileMaxBufferedBytes = 64 << 10  // the disk limits the socket often
            settings.fileSyncInterval = 256 << 10
        }) { server in
            let peer = try await self.connect(server)
            let bytes = Self.random(3 << 20 + 123)
            let first = try #require(try await self.send(peer, "data.bin", bytes))
            #expect(first.filename == "data.bin")
            let second = try #require(try await self.send(peer, "data.bin", Array(bytes.prefix(1000))))
            #expect(second.filename == "data (2).bin")
            let got = try await self.download(server, first.fileID)
            #expect(got.body.count == bytes.count)
            #expect(got.body == bytes)
            #expect(try Array(Data(contentsOf: URL(fileURLWithPath: self.filesDirectory(server) + "/web-1/data.bin"))) == bytes)
            await peer.close()
        }
    }

    @Test("several files interleaved on one connection, then END with the summary")
    func severalFilesAndEnd() async throws {
        try await self.withServer({ $0.fileChunkSize = 4096 }) { server in
            let peer = try await self.connect(server)
            let files = (0..<3).map { _ in (UUID(), Self.random(20_000)) }
            for (i, (id, bytes)) in files.enumerated() {
                _ = try await self.expectReady(peer, id, "f\(i).bin", bytes)
            }
            // Round robin: one chunk of each in turn.
            for offset in stride(from: 0, to: 20_000, by: 4096) {
                for (id, bytes) in files {
                    let end = min(offset + 4096, bytes.count)
                    try await peer.send(data: FileDataFrame(transferID: id, offset: UInt64(offset), data: ByteBuffer(bytes: bytes[offset..<end])))
                }
            }
            var saved: Set<String> = []
            for _ in files {
                guard case .fileSaved(let payload) = try await peer.nextAnswer() else { Issue.record("expected FILE_SAVED"); return }
                saved.insert(payload.filename)
            }
            #expect(saved == ["f0.bin", "f1.bin", "f2.bin"])
            // One that fails its checksum.
            let bad = Self.random(100)
            let badID = UUID()
            guard case .fileReady = try await self.offer(peer, badID, "bad.bin", size: 100, sha256: String(repeating: "0", count: 64)) else { Issue.record("expected FILE_READY"); return }
            try await peer.send(file: bad[...], transferID: badID, from: 0, chunk: 4096)
            guard case .fileFailed(let failed) = try await peer.nextAnswer() else { Issue.record("expected FILE_FAILED"); return }
            #expect(failed.code == .checksumMismatch)
            try await peer.send(Envelope(.end(EndPayload()), messageID: "end-1"))
            let summary = try #require(try await peer.response())
            #expect(summary.success)
            #expect(summary.message == "3 files saved, 1 failed")
            #expect(summary.inReplyTo == "end-1")
            #expect(!summary.fatal)
            // The connection stays open and counts start again.
            try await peer.send(Envelope(.end(EndPayload()), messageID: "end-2"))
            #expect(try await peer.response()?.message == "0 files saved, 0 failed")
            #expect(!peer.isClosed)
            await peer.close()
        }
    }

    @Test("an empty file is saved at once")
    func emptyFile() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let id = UUID()
            let ready = try await self.expectReady(peer, id, "empty", [])
            #expect(ready.offset == 0)
            let saved = try #require(try await self.expectSaved(peer, id, []))
            #expect(try await self.download(server, saved.fileID).body.isEmpty)
            await peer.close()
        }
    }

    // MARK: Failures after bytes

    @Test("a wrong checksum fails the transfer and leaves neither the file nor the partial")
    func wrongChecksum() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let bytes = Self.random(50_000)
            let id = UUID()
            guard case .fileReady(let ready) = try await self.offer(peer, id, "x.bin", size: bytes.count, sha256: Self.sha256(bytes.reversed())) else {
                Issue.record("expected FILE_READY")
                return
            }
            try await peer.send(file: bytes[...], transferID: id, from: 0, chunk: ready.chunkSize)
            guard case .fileFailed(let failed) = try await peer.nextAnswer() else { Issue.record("expected FILE_FAILED"); return }
            #expect(failed.code == .checksumMismatch)
            #expect(failed.reason.contains(Self.sha256(bytes)))
            #expect(!FileManager.default.fileExists(atPath: self.filesDirectory(server) + "/web-1/x.bin"))
            #expect(self.names(in: self.filesDirectory(server) + "/web-1").isEmpty)
            #expect(self.names(in: self.filesDirectory(server) + "/.partial").isEmpty)
            #expect(try await server.http("GET", "/api/files").json.flatMap { ($0 as? [String: Any])?["files"] as? [Any] }?.isEmpty == true)
            try await eventually(timeout: .seconds(2), "a log line") { server.logs.contains("code=checksum_mismatch") }
            await peer.close()
        }
    }

    @Test("more bytes than offered fail the transfer with size_mismatch and leave nothing")
    func tooManyBytes() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let id = UUID()
            let bytes = Self.random(15)
            guard case .fileReady = try await self.offer(peer, id, "short.bin", size: 10, sha256: Self.sha256(bytes.prefix(10))) else { Issue.record("expected FILE_READY"); return }
            try await peer.send(data: FileDataFrame(transferID: id, offset: 0, data: ByteBuffer(bytes: bytes)))
            guard case .fileFailed(let failed) = try await peer.nextAnswer() else { Issue.record("expected FILE_FAILED"); return }
            #expect(failed.code == .sizeMismatch)
            #expect(failed.reason.contains("15 bytes sent for a file offered as 10 bytes"))
            // A frame the sender had in flight for it is dropped quietly, not counted.
            try await peer.send(data: FileDataFrame(transferID: id, offset: 15, data: ByteBuffer(bytes: [1])))
            try await eventually(timeout: .seconds(2), "the partial to be deleted") {
                self.names(in: self.filesDirectory(server) + "/.partial").isEmpty
            }
            #expect(self.names(in: self.filesDirectory(server) + "/web-1").isEmpty)
            try await peer.send(Envelope(.end(EndPayload()), messageID: "end"))
            #expect(try await peer.response()?.message == "0 files saved, 1 failed")
            await peer.close()
        }
    }

    // MARK: Refusals before any byte

    @Test("each hostile name is refused with invalid_name and the reason")
    func hostileNames() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let cases: [(String, String)] = [
                ("../../etc/passwd", "path separator"),
                ("/abs", "path separator"),
                ("a\u{0}b", "NUL"),
                (String(repeating: "x", count: 5000), "5000 bytes long; the limit is 255"),
                (".", "names a directory"),
                ("", "empty"),
            ]
            for (name, reason) in cases {
                let reject = try await self.expectReject(peer, UUID(), name, size: 10, code: .invalidName)
                #expect(reject?.reason.contains(reason) == true, "\(name.prefix(20).debugDescription): \(reject?.reason ?? "-")")
            }
            #expect(self.names(in: self.filesDirectory(server) + "/.partial").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: server.directory.path + "/etc"))
            #expect(!peer.isClosed)
            await peer.close()
        }
    }

    @Test("malformed offers are refused with invalid_offer")
    func invalidOffers() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: "nope", filename: "a", size: 1, sha256: String(repeating: "a", count: 64)))))
            guard case .fileReject(let badID) = try await peer.nextAnswer() else { Issue.record("expected FILE_REJECT"); return }
            #expect(badID.code == .invalidOffer)
            #expect(badID.transferID == "nope")
            _ = try await self.expectReject(peer, UUID(), "a", size: 1, sha256: "xyz", code: .invalidOffer)
            await peer.close()
        }
    }

    @Test("a file over files.max_file_size is refused before any byte, and its bytes are not taken")
    func tooLarge() async throws {
        try await self.withServer({ $0.fileMaxSize = 1000 }) { server in
            let peer = try await self.connect(server)
            let id = UUID()
            let reject = try await self.expectReject(peer, id, "big.bin", size: 1001, code: .fileTooLarge)
            #expect(reject?.reason.contains("1000") == true)
            try await peer.send(data: FileDataFrame(transferID: id, offset: 0, data: ByteBuffer(bytes: [1, 2, 3])))
            let refusal = try #require(try await peer.response())
            #expect(refusal.code == .unknownTransfer)
            #expect(!refusal.fatal)
            #expect(self.names(in: self.filesDirectory(server) + "/.partial").isEmpty)
            _ = try await self.send(peer, "ok.bin", Self.random(1000))
            await peer.close()
        }
    }

    @Test("over the sender's quota is refused")
    func overQuota() async throws {
        try await self.withServer({ $0.fileQuotaPerClient = 100 }) { server in
            let peer = try await self.connect(server)
            _ = try await self.send(peer, "a.bin", Self.random(60))
            let reject = try await self.expectReject(peer, UUID(), "b.bin", size: 41, code: .overQuota)
            #expect(reject?.reason.contains("files.quota_per_client") == true)
            _ = try await self.send(peer, "c.bin", Self.random(40))
            // Another client has its own quota.
            let other = try await self.connect(server, as: "db-2")
            _ = try await self.send(other, "a.bin", Self.random(100))
            await peer.close()
            await other.close()
        }
    }

    @Test("not enough free disk is refused")
    func insufficientDisk() async throws {
        try await self.withServer({ $0.fileMinFreeDisk = 1 << 62 }) { server in
            let peer = try await self.connect(server)
            let reject = try await self.expectReject(peer, UUID(), "a.bin", size: 10, code: .insufficientDisk)
            #expect(reject?.reason.contains("files.min_free_disk") == true)
            await peer.close()
        }
    }

    @Test("a transfer id already saved is refused as a duplicate naming the file")
    func duplicate() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let bytes = Self.random(500)
            let id = UUID()
            let saved = try #require(try await self.send(peer, "a.bin", bytes, id: id))
            let reject = try await self.expectReject(peer, id, "a.bin", size: bytes.count, sha256: Self.sha256(bytes), code: .duplicate)
            #expect(reject?.fileID == saved.fileID)
            #expect(self.names(in: self.filesDirectory(server) + "/web-1") == ["a.bin"])
            await peer.close()
        }
    }

    @Test("a transfer open on another connection is busy; too many open on one connection are refused")
    func busy() async throws {
        try await self.withServer({ $0.fileMaxConcurrentTransfers = 2 }) { server in
            let first = try await self.connect(server)
            let second = try await self.connect(server, as: "db-2")
            let id = UUID()
            let bytes = Self.random(100)
            _ = try await self.expectReady(first, id, "a.bin", bytes)
            // Another sender's offer of an id in use is refused without a word about the holder.
            let foreign = try await self.expectReject(second, id, "a.bin", size: bytes.count, sha256: Self.sha256(bytes), code: .invalidOffer)
            #expect(foreign?.reason.contains("web-1") == false)
            _ = try await self.expectReject(first, id, "a.bin", size: bytes.count, sha256: Self.sha256(bytes), code: .transferBusy)
            _ = try await self.expectReady(first, UUID(), "b.bin", bytes)
            let reject = try await self.expectReject(first, UUID(), "c.bin", size: 1, code: .serverBusy)
            #expect(reject?.reason.contains("files.max_concurrent_transfers") == true)
            await first.close()
            await second.close()
        }
    }

    @Test("another sender's offer of a transfer id in use never touches its partial nor learns its file")
    func transferIDsAreScopedBySender() async throws {
        try await self.withServer({ settings in
            settings.fileChunkSize = 1000
            settings.fileSyncInterval = 1000
        }) { server in
            let owner = try await self.connect(server)
            let bytes = Self.random(5000)
            let id = UUID()
            _ = try await self.expectReady(owner, id, "secret-plan.bin", bytes)
            try await owner.send(file: bytes[..<3000], transferID: id, from: 0, chunk: 1000)
            try await eventually(timeout: .seconds(5), "a sync") { (self.durableOffset(server, id) ?? 0) >= 3000 }
            await owner.close()

            // An intruder offers the same id, for another file: once the owner's connection has let
            // go, the partial is still not its to restart.
            let intruder = try await self.connect(server, as: "db-2")
            let other = Self.random(10)
            var refusal: FileErrorPayload?
            for _ in 0..<50 {
                guard case .fileReject(let reject) = try await self.offer(intruder, id, "mine.bin", size: other.count, sha256: Self.sha256(other)) else {
                    Issue.record("the intruder's offer was not refused")
                    break
                }
                if reject.code != .transferBusy || !reject.reason.contains("another connection") {
                    refusal = reject
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(refusal?.code == .invalidOffer)
            #expect(refusal?.fileID == nil)
            #expect(refusal?.reason.contains("web-1") == false)
            #expect(refusal?.reason.contains("secret-plan") == false)
            #expect(self.durableOffset(server, id) == 3000)

            // The owner resumes where it was.
            let back = try await self.connect(server)
            let ready = try await self.reoffer(back, id, "secret-plan.bin", bytes)
            #expect(ready.offset == 3000)
            try await back.send(file: bytes[...], transferID: id, from: Int(ready.offset), chunk: ready.chunkSize)
            let saved = try #require(try await self.expectSaved(back, id, bytes))

            // Saved: the intruder is refused again, not told it is a duplicate of which file.
            let again = try await self.expectReject(intruder, id, "mine.bin", size: other.count, sha256: Self.sha256(other), code: .invalidOffer)
            #expect(again?.fileID == nil)
            #expect(again?.reason.contains(saved.fileID) == false)
            #expect(again?.reason.contains("secret-plan") == false)
            // The owner itself still gets `duplicate` with the file.
            let duplicate = try await self.expectReject(back, id, "secret-plan.bin", size: bytes.count, sha256: Self.sha256(bytes), code: .duplicate)
            #expect(duplicate?.fileID == saved.fileID)
            await back.close()
            await intruder.close()
        }
    }

    @Test("client-controlled text in file-transfer log lines is escaped: no forged log lines")
    func logForging() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let forged = "x\nlevel=critical message=forged"
            try await peer.send(Envelope(.fileOffer(FileOfferPayload(transferID: forged, filename: "a.bin", size: 1, sha256: String(repeating: "a", count: 64))), messageID: UUID().uuidString))
            guard case .fileReject(let reject) = try await peer.nextAnswer() else {
                Issue.record("expected FILE_REJECT")
                return
            }
            #expect(reject.code == .invalidOffer)
            try await eventually(timeout: .seconds(2), "the refusal to be logged") { server.logs.contains("file offer refused") }
            let lines = server.logs.all.filter { $0.contains("file offer refused") }
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { !$0.contains("\n") })
            #expect(lines.contains { $0.contains(#"x\nlevel=critical"#) })
            await peer.close()
        }
    }

    // MARK: Protocol violations in data

    @Test("data for an unknown transfer and at a wrong offset are protocol errors; the transfer goes on")
    func badData() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            try await peer.send(data: FileDataFrame(transferID: UUID(), offset: 0, data: ByteBuffer(bytes: [1])))
            let unknown = try #require(try await peer.response())
            #expect(unknown.code == .unknownTransfer)
            #expect(!unknown.fatal)
            let bytes = Self.random(1000)
            let id = UUID()
            _ = try await self.expectReady(peer, id, "a.bin", bytes)
            try await peer.send(data: FileDataFrame(transferID: id, offset: 500, data: ByteBuffer(bytes: bytes[500...])))
            let wrong = try #require(try await peer.response())
            #expect(wrong.code == .badOffset)
            #expect(wrong.message.contains("expects offset 0"))
            #expect(!wrong.fatal)
            try await peer.send(file: bytes[...], transferID: id, from: 0, chunk: 1000)
            _ = try await self.expectSaved(peer, id, bytes)
            try await eventually(timeout: .seconds(2), "the protocol errors to be logged") {
                server.logs.contains("code=unknown_transfer") && server.logs.contains("code=bad_offset")
            }
            await peer.close()
        }
    }

    @Test("a short data frame is refused as malformed")
    func shortDataFrame() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            try await peer.send(frame: [0x01, 1, 2, 3])
            let reply = try #require(try await peer.response())
            #expect(reply.code == .invalidField)
            #expect(!reply.fatal)
            await peer.close()
        }
    }

    // MARK: Resume

    /// The durable offset a partial's sidecar records.
    private func durableOffset(_ server: TestServer, _ id: UUID) -> Int? {
        let path = self.filesDirectory(server) + "/.partial/\(id.uuidString.lowercased()).json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return json["durable_offset"] as? Int
    }

    /// Offers until the previous connection has let the transfer go.
    private func reoffer(_ peer: RawPeer, _ id: UUID, _ name: String, _ bytes: [UInt8]) async throws -> FileReadyPayload {
        for _ in 0..<50 {
            switch try await self.offer(peer, id, name, size: bytes.count, sha256: Self.sha256(bytes)) {
            case .fileReady(let ready):
                return ready
            case .fileReject(let reject) where reject.code == .transferBusy:
                try await Task.sleep(for: .milliseconds(100))
            case let other:
                Issue.record("expected FILE_READY, got \(String(describing: other))")
                throw TimeoutError(description: "no FILE_READY")
            }
        }
        throw TimeoutError(description: "the transfer stayed busy")
    }

    @Test("a transfer cut off by a dropped connection resumes from the durable offset")
    func resumeAfterDrop() async throws {
        try await self.withServer({ settings in
            settings.fileChunkSize = 16 << 10
            settings.fileSyncInterval = 64 << 10
        }) { server in
            let bytes = Self.random(1 << 20)
            let id = UUID()
            let first = try await self.connect(server)
            _ = try await self.expectReady(first, id, "big.bin", bytes)
            try await first.send(file: bytes[..<(400 << 10)], transferID: id, from: 0, chunk: 16 << 10)
            try await eventually(timeout: .seconds(5), "a sync past 256 KiB") { (self.durableOffset(server, id) ?? 0) >= 256 << 10 }
            await first.close()

            let second = try await self.connect(server)
            let ready = try await self.reoffer(second, id, "big.bin", bytes)
            let durable = try #require(self.durableOffset(server, id))
            #expect(ready.offset > 0)
            #expect(Int(ready.offset) == durable)
            #expect(ready.offset <= 400 << 10)
            try await second.send(file: bytes[...], transferID: id, from: Int(ready.offset), chunk: ready.chunkSize)
            let saved = try #require(try await self.expectSaved(second, id, bytes))
            #expect(try await self.download(server, saved.fileID).body == bytes)
            #expect(self.names(in: self.filesDirectory(server) + "/.partial").isEmpty)
            await second.close()
        }
    }

    @Test("a transfer cut by an orderly close (shutdown(SHUT_WR)) right after its data frames resumes from every byte sent, every time")
    func resumeAfterHalfClose() async throws {
        try await self.withServer({ settings in
            settings.fileChunkSize = 16 << 10
        }) { server in
            let bytes = Self.random(1 << 20)
            let sent = 384 << 10
            // The bytes still waiting for the disk when the close arrived used to be dropped: a
            // race, so it is run often enough to show.
            for round in 1...20 {
                let id = UUID()
                let first = try await self.connect(server)
                let ready = try await self.expectReady(first, id, "cut.bin", bytes)
                try await first.send(file: bytes[..<sent], transferID: id, from: ready.offset, chunk: ready.chunk)
                try await first.closeOutput()
                #expect(try await first.waitForClose(), "the server closes after the end of stream")
                await first.close()

                let second = try await self.connect(server)
                let resumed = try await self.reoffer(second, id, "cut.bin", bytes)
                #expect(resumed.offset == UInt64(sent), "round \(round): resumed from \(resumed.offset) of the \(sent) bytes sent")
                if round == 1 {
                    try await second.send(file: bytes[...], transferID: id, from: Int(resumed.offset), chunk: resumed.chunkSize)
                    let saved = try #require(try await self.expectSaved(second, id, bytes))
                    #expect(try await self.download(server, saved.fileID).body == bytes)
                }
                await second.close()
            }
        }
    }

    @Test("a transfer resumes after the server restarts")
    func resumeAfterRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let configure: @Sendable (inout ServerSettings) -> Void = { settings in
            settings.fileChunkSize = 16 << 10
            settings.fileSyncInterval = 64 << 10
        }
        let bytes = Self.random(600 << 10)
        let id = UUID()
        let first = try await TestServer.start(directory: directory, configure)
        let key = try await first.key(for: "web-1")
        do {
            let peer = try await RawPeer.connect(port: first.agentPort)
            try await peer.register(key: key, hostname: "web-1")
            #expect(try await peer.response()?.success == true)
            _ = try await self.expectReady(peer, id, "big.bin", bytes)
            try await peer.send(file: bytes[..<(300 << 10)], transferID: id, from: 0, chunk: 16 << 10)
            try await eventually(timeout: .seconds(5), "a sync") { (self.durableOffset(first, id) ?? 0) >= 128 << 10 }
        }
        await first.stop(keepingFiles: true)
        let kept = try #require(self.durableOffset(first, id))
        #expect(kept > 0)

        try await self.withServer(directory: directory, configure) { server in
            let peer = try await RawPeer.connect(port: server.agentPort)
            try await peer.register(key: key, hostname: "web-1")
            #expect(try await peer.response()?.success == true)
            let ready = try await self.reoffer(peer, id, "big.bin", bytes)
            #expect(Int(ready.offset) == kept)
            try await peer.send(file: bytes[...], transferID: id, from: Int(ready.offset), chunk: ready.chunkSize)
            let saved = try #require(try await self.expectSaved(peer, id, bytes))
            #expect(try await self.download(server, saved.fileID).body == bytes)
            await peer.close()
        }
    }

    @Test("a partial older than files.partial_retention is deleted; open ones are kept")
    func partialCleanup() async throws {
        try await self.withServer({ $0.filePartialRetention = .milliseconds(300) }) { server in
            let peer = try await self.connect(server)
            let open = UUID()
            let bytes = Self.random(1000)
            _ = try await self.expectReady(peer, open, "open.bin", bytes)
            // An abandoned partial from long ago.
            let partials = self.filesDirectory(server) + "/.partial"
            let stale = UUID().uuidString.lowercased()
            FileManager.default.createFile(atPath: partials + "/\(stale).part", contents: Data([1, 2, 3]))
            try await eventually(timeout: .seconds(5), "the stale partial to go") {
                !FileManager.default.fileExists(atPath: partials + "/\(stale).part")
            }
            #expect(FileManager.default.fileExists(atPath: partials + "/\(open.uuidString.lowercased()).part"))
            try await peer.send(file: bytes[...], transferID: open, from: 0, chunk: 1000)
            _ = try await self.expectSaved(peer, open, bytes)
            await peer.close()
        }
    }

    @Test("a partial written again after the cleaner listed it as expired is kept")
    func cleanerRechecksAgeAfterClaim() async throws {
        try await self.withServer { server in
            let partials = self.filesDirectory(server) + "/.partial"
            try FileManager.default.createDirectory(atPath: partials, withIntermediateDirectories: true)
            let id = UUID()
            let part = partials + "/\(id.uuidString.lowercased()).part"
            FileManager.default.createFile(atPath: part, contents: Data([1, 2, 3]))
            // The cleaner's listing said "expired"; meanwhile the partial was resumed, written and
            // released (here: it was just written). Once claimed, it is found fresh and kept.
            await server.server.files.removePartials(ifStillExpired: [id])
            #expect(FileManager.default.fileExists(atPath: part))
        }
    }

    // MARK: HTTP

    @Test("GET /api/files filters by sender and pages; unknown ids are 404; bad parameters 400")
    func httpRoutes() async throws {
        try await self.withServer { server in
            let web = try await self.connect(server)
            let db = try await self.connect(server, as: "db-2")
            var ids: [String] = []
            for i in 0..<3 { ids.append(try #require(try await self.send(web, "w\(i).txt", Self.random(10))).fileID) }
            let dbFile = try #require(try await self.send(db, "d.txt", Self.random(10), id: UUID()))
            func list(_ query: String) async throws -> [String: Any] {
                let answer = try await server.http("GET", "/api/files\(query)")
                #expect(answer.status == 200, "\(query)")
                return answer.json as? [String: Any] ?? [:]
            }
            let onlyWeb = try await list("?sender=web-1")
            #expect((onlyWeb["files"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ids.reversed())
            let page = try await list("?limit=2")
            #expect((page["files"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [dbFile.fileID, ids[2]])
            let next = try #require(page["next_before"] as? String)
            let rest = try await list("?limit=2&before=\(next)")
            #expect((rest["files"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[1], ids[0]])
            let last = try await list("?before=\(ids[0])")
            #expect((last["files"] as? [Any])?.isEmpty == true)
            #expect(last["next_before"] is NSNull)

            #expect(try await server.http("GET", "/api/files?limit=0").status == 400)
            #expect(try await server.http("GET", "/api/files?before=zzz").status == 400)
            let missing = try await server.http("GET", "/api/files/\(UUID().uuidString.lowercased())")
            #expect(missing.status == 404)
            #expect((missing.json as? [String: Any])?["error"] as? String == "not_found")
            #expect(try await server.http("GET", "/api/files/not-an-id").status == 404)
            await web.close()
            await db.close()
        }
    }

    @Test("names outside ASCII are kept (NFC) and sent back in RFC 5987 form")
    func unicodeName() async throws {
        try await self.withServer { server in
            let peer = try await self.connect(server)
            let saved = try #require(try await self.send(peer, "Cafe\u{301} \"menu\".txt", Array("x".utf8)))
            #expect(saved.filename == "Caf\u{E9} \"menu\".txt")
            let got = try await self.download(server, saved.fileID)
            #expect(got.headers["content-disposition"] == "attachment; filename=\"Caf_ _menu_.txt\"; filename*=UTF-8''Caf%C3%A9%20%22menu%22.txt")
            await peer.close()
        }
    }
}
