import Crypto
import Foundation
import NIOCore
import Testing
import VigilProtocol
@testable import VigilTransfer

/// A scratch directory with a `.partial` inside, removed at the end.
struct Scratch: ~Copyable {
    let root: String
    var partials: PartialDirectory { PartialDirectory(path: self.root + "/.partial") }
    var inbox: String { self.root + "/inbox" }

    init() throws {
        self.root = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-transfer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: self.root) }

    func names(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// Random bytes, eight at a time (cheap even in debug builds).
func randomBytes(_ count: Int) -> [UInt8] {
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

func manifest(_ bytes: [UInt8], name: String = "report.pdf", id: UUID = UUID(), sender: String = "web-1", sha256: String? = nil) -> TransferManifest {
    TransferManifest(transferID: id, filename: name, size: UInt64(bytes.count), sha256: sha256 ?? sha256Hex(bytes), sender: sender)
}

/// `bytes` in chunks of `size`.
func chunks(_ bytes: [UInt8], of size: Int) -> [ByteBuffer] {
    stride(from: 0, to: bytes.count, by: size).map { ByteBuffer(bytes: bytes[$0..<min($0 + size, bytes.count)]) }
}

@Suite("Partial files")
struct PartialFileTests {
    @Test("bytes written in chunks are verified and moved into place; the partial is gone")
    func finish() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(3 << 20 + 17)
        let file = try await scratch.partials.open(manifest(bytes), syncInterval: 1 << 20)
        #expect(file.startOffset == 0)
        for chunk in chunks(bytes, of: 256 << 10) { try await file.write([chunk]) }
        #expect(file.isComplete)
        #expect(file.durableOffset == 3 << 20)  // synced every MiB
        let saved = try await file.finish(into: scratch.inbox)
        #expect(saved.filename == "report.pdf")
        #expect(saved.path == scratch.inbox + "/report.pdf")
        #expect(saved.sha256 == sha256Hex(bytes))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: saved.path))) == bytes)
        #expect(scratch.names(scratch.root + "/.partial").isEmpty)
    }

    @Test("a taken name gets a counter and the old file is untouched")
    func freeName() async throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.inbox, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.inbox + "/report.pdf"))
        try Data("older".utf8).write(to: URL(fileURLWithPath: scratch.inbox + "/report (2).pdf"))
        let bytes = Array("new".utf8)
        let file = try await scratch.partials.open(manifest(bytes), syncInterval: 1 << 20)
        try await file.write([ByteBuffer(bytes: bytes)])
        let saved = try await file.finish(into: scratch.inbox)
        #expect(saved.filename == "report (3).pdf")
        #expect(try String(contentsOfFile: scratch.inbox + "/report.pdf", encoding: .utf8) == "old")
        #expect(try String(contentsOfFile: scratch.inbox + "/report (2).pdf", encoding: .utf8) == "older")
        #expect(try String(contentsOfFile: scratch.inbox + "/report (3).pdf", encoding: .utf8) == "new")
    }

    @Test("a failure after the file got its name takes the name back: nothing stays visible")
    func failureAfterPlacing() async throws {
        let scratch = try Scratch()
        let bytes = Array("placed then failed".utf8)
        let file = try await scratch.partials.open(manifest(bytes), syncInterval: 1 << 20)
        try await file.write([ByteBuffer(bytes: bytes)])
        var seen: String?
        do {
            _ = try file.finishNow(into: scratch.inbox) { (path: String) throws(TransferError) in
                seen = path
                throw TransferError(.ioError, "cannot fsync \(scratch.inbox): injected")
            }
            Issue.record("finish should fail")
        } catch {
            #expect(error.code == .ioError)
        }
        #expect(seen == scratch.inbox + "/report.pdf")
        #expect(scratch.names(scratch.inbox).isEmpty)
        #expect(scratch.names(scratch.root + "/.partial").isEmpty)
    }

    @Test("without hard links, a rename takes the next free name and never replaces a file")
    func placeByRename() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.inbox, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.inbox + "/report.pdf"))
        let source = scratch.root + "/incoming.part"
        try Data("new".utf8).write(to: URL(fileURLWithPath: source))
        let name = try PartialFile.placeByRename(source, in: scratch.inbox, filename: "report.pdf")
        #expect(name == "report (2).pdf")
        #expect(try String(contentsOfFile: scratch.inbox + "/report.pdf", encoding: .utf8) == "old")
        #expect(try String(contentsOfFile: scratch.inbox + "/report (2).pdf", encoding: .utf8) == "new")
        #expect(!FileManager.default.fileExists(atPath: source))
        // A name taken between any check and the rename (here: taken beforehand) is never replaced.
        try Data("other".utf8).write(to: URL(fileURLWithPath: scratch.root + "/x.part"))
        #expect(try POSIX.renameNoReplace(scratch.root + "/x.part", scratch.inbox + "/report.pdf") == false)
        #expect(try String(contentsOfFile: scratch.inbox + "/report.pdf", encoding: .utf8) == "old")
        #expect(FileManager.default.fileExists(atPath: scratch.root + "/x.part"))
    }

    @Test("counters go before the last extension and names stay within 255 bytes")
    func candidates() {
        #expect(FreeName.candidate("a.tar.gz", 1) == "a.tar.gz")
        #expect(FreeName.candidate("a.tar.gz", 2) == "a.tar (2).gz")
        #expect(FreeName.candidate(".bashrc", 2) == ".bashrc (2)")
        #expect(FreeName.candidate("notes", 12) == "notes (12)")
        #expect(FreeName.candidate("trailing.", 2) == "trailing. (2)")
        let long = String(repeating: "é", count: 125) + ".txt"  // 254 bytes
        let second = FreeName.candidate(long, 2)
        #expect(second.utf8.count <= 255)
        #expect(second.hasSuffix(" (2).txt"))
    }

    @Test("a wrong checksum fails and leaves neither the file nor the partial")
    func checksumMismatch() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(100_000)
        let file = try await scratch.partials.open(manifest(bytes, sha256: String(repeating: "0", count: 64)), syncInterval: 10_000)
        try await file.write(chunks(bytes, of: 30_000))
        await #expect(throws: TransferError.self) { try await file.finish(into: scratch.inbox) }
        do {
            _ = try await file.finish(into: scratch.inbox)
        } catch {
            #expect(error.code == .ioError)  // already discarded
        }
        #expect(scratch.names(scratch.inbox).isEmpty)
        #expect(scratch.names(scratch.root + "/.partial").isEmpty)
    }

    @Test("the checksum failure names both digests")
    func checksumReason() async throws {
        let scratch = try Scratch()
        let bytes = Array("hello".utf8)
        let file = try await scratch.partials.open(manifest(bytes, sha256: String(repeating: "a", count: 64)), syncInterval: 10)
        try await file.write([ByteBuffer(bytes: bytes)])
        do {
            _ = try await file.finish(into: scratch.inbox)
            Issue.record("finish should fail")
        } catch {
            #expect(error.code == .checksumMismatch)
            #expect(error.reason.contains(sha256Hex(bytes)))
            #expect(error.reason.contains(String(repeating: "a", count: 64)))
        }
    }

    @Test("more bytes than offered are refused and nothing of them is written")
    func tooManyBytes() async throws {
        let scratch = try Scratch()
        let bytes = Array("0123456789".utf8)
        let file = try await scratch.partials.open(manifest(bytes), syncInterval: 100)
        try await file.write([ByteBuffer(bytes: bytes.prefix(6))])
        do {
            try await file.write([ByteBuffer(bytes: Array("6789X".utf8))])
            Issue.record("write should fail")
        } catch {
            #expect(error.code == .sizeMismatch)
        }
        #expect(file.offset == 6)
        try await file.write([ByteBuffer(bytes: bytes.suffix(4))])
        let saved = try await file.finish(into: scratch.inbox)
        #expect(saved.size == 10)
    }

    @Test("a partial abandoned without close resumes from its durable offset and completes")
    func resumeAfterCrash() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(2500)
        let id = UUID()
        do {
            let file = try await scratch.partials.open(manifest(bytes, id: id), syncInterval: 1000)
            for chunk in chunks(Array(bytes.prefix(2200)), of: 500) {
                try await file.write([chunk])  // syncs at 1000 and 2000
            }
            #expect(file.durableOffset == 2000)
            #expect(file.offset == 2200)
            // Released without close(): like a process that died. The sidecar says 2000.
        }
        let existing = await scratch.partials.existing(id)
        #expect(existing?.durableOffset == 2000)
        let resumed = try await scratch.partials.open(manifest(bytes, id: id), syncInterval: 1000)
        #expect(resumed.startOffset == 2000)
        #expect(resumed.offset == 2000)
        try await resumed.write([ByteBuffer(bytes: bytes[2000...])])
        let saved = try await resumed.finish(into: scratch.inbox)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: saved.path))) == bytes)
    }

    @Test("close makes everything written durable for a resume")
    func resumeAfterClose() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(5000)
        let id = UUID()
        let file = try await scratch.partials.open(manifest(bytes, id: id), syncInterval: 1 << 20)
        try await file.write([ByteBuffer(bytes: bytes.prefix(3333))])
        try await file.close()
        try await file.close()  // twice: nothing
        let resumed = try await scratch.partials.open(manifest(bytes, name: "renamed.bin", id: id), syncInterval: 1 << 20)
        #expect(resumed.startOffset == 3333)
        try await resumed.write([ByteBuffer(bytes: bytes[3333...])])
        let saved = try await resumed.finish(into: scratch.inbox)
        #expect(saved.filename == "renamed.bin")
        #expect(saved.sha256 == sha256Hex(bytes))
    }

    @Test("a different file under the same transfer id starts again from 0")
    func differentFileRestarts() async throws {
        let scratch = try Scratch()
        let first = randomBytes(1000)
        let second = randomBytes(1000)
        let id = UUID()
        let file = try await scratch.partials.open(manifest(first, id: id), syncInterval: 10)
        try await file.write([ByteBuffer(bytes: first.prefix(500))])
        try await file.close()
        let other = try await scratch.partials.open(manifest(second, id: id), syncInterval: 10)
        #expect(other.startOffset == 0)
        let stranger = try await scratch.partials.open(manifest(second, id: id, sender: "db-2"), syncInterval: 10)
        #expect(stranger.startOffset == 0)
    }

    @Test("a sidecar claiming more than the file holds is not trusted")
    func shortPartial() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(1000)
        let id = UUID()
        let file = try await scratch.partials.open(manifest(bytes, id: id), syncInterval: 100)
        try await file.write([ByteBuffer(bytes: bytes.prefix(800))])
        try await file.close()
        let part = scratch.root + "/.partial/\(id.uuidString.lowercased()).part"
        let handle = try #require(FileHandle(forWritingAtPath: part))
        try handle.truncate(atOffset: 300)
        try handle.close()
        let resumed = try await scratch.partials.open(manifest(bytes, id: id), syncInterval: 100)
        #expect(resumed.startOffset == 0)
    }

    @Test("discard leaves nothing; expired partials are found and removed")
    func discardAndExpire() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(100)
        let kept = UUID()
        let old = UUID()
        let a = try await scratch.partials.open(manifest(bytes, id: kept), syncInterval: 10)
        try await a.write([ByteBuffer(bytes: bytes.prefix(50))])
        try await a.close()
        let b = try await scratch.partials.open(manifest(bytes, id: old), syncInterval: 10)
        try await b.close()
        let partials = scratch.root + "/.partial"
        let past = Date(timeIntervalSinceNow: -7200)
        for name in scratch.names(partials) where name.hasPrefix(old.uuidString.lowercased()) {
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: partials + "/" + name)
        }
        try Data().write(to: URL(fileURLWithPath: partials + "/not-ours.txt"))
        #expect(await scratch.partials.expired(olderThan: .seconds(3600)) == [old])
        await scratch.partials.remove(old)
        #expect(await scratch.partials.existing(old) == nil)
        #expect(scratch.names(partials).filter { $0.hasPrefix(old.uuidString.lowercased()) }.isEmpty)
        let c = try await scratch.partials.open(manifest(bytes, id: kept), syncInterval: 10)
        await c.discard()
        #expect(scratch.names(partials) == ["not-ours.txt"])
    }

    @Test("offers are checked: transfer id, SHA-256, name")
    func manifestFromOffer() throws {
        let good = FileOfferPayload(transferID: UUID().uuidString, filename: "Cafe\u{301}.txt", size: 3, sha256: String(repeating: "AB", count: 32))
        let checked = try TransferManifest(offer: good, sender: "web-1")
        #expect(checked.filename == "Caf\u{E9}.txt")
        #expect(checked.sha256 == String(repeating: "ab", count: 32))
        func code(_ offer: FileOfferPayload) -> ErrorCode? {
            do {
                _ = try TransferManifest(offer: offer, sender: "web-1")
                return nil
            } catch {
                return error.code
            }
        }
        var offer = good
        offer.transferID = "not-a-uuid"
        #expect(code(offer) == .invalidOffer)
        offer = good
        offer.sha256 = "abc"
        #expect(code(offer) == .invalidOffer)
        offer.sha256 = String(repeating: "g", count: 64)
        #expect(code(offer) == .invalidOffer)
        for name in ["../../etc/passwd", "/abs", "a\u{0}b", String(repeating: "x", count: 5000), ".", ""] {
            offer = good
            offer.filename = name
            #expect(code(offer) == .invalidName, "\(name.prefix(20).debugDescription)")
        }
    }
}

@Suite("Outgoing files")
struct OutgoingFileTests {
    @Test("size, SHA-256 and frames read at offsets")
    func readAndHash() async throws {
        let scratch = try Scratch()
        let bytes = randomBytes(2 << 20 + 5)
        let path = scratch.root + "/data.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try await OutgoingFile.open(path: path)
        #expect(file.size == UInt64(bytes.count))
        #expect(file.filename == "data.bin")
        #expect(try await file.sha256() == sha256Hex(bytes))
        let id = UUID()
        let frame = try await file.readFrame(transferID: id, at: 1 << 20, count: 1000)
        let parsed = try FileDataFrame(parsing: frame)
        #expect(parsed.transferID == id)
        #expect(parsed.offset == 1 << 20)
        #expect(Array(parsed.data.readableBytesView) == Array(bytes[(1 << 20)..<(1 << 20) + 1000]))
        let tail = try await file.read(at: UInt64(bytes.count - 3), count: 100)
        #expect(Array(tail.readableBytesView) == Array(bytes.suffix(3)))
        #expect(try await file.read(at: UInt64(bytes.count), count: 100).readableBytes == 0)
        file.close()
        await #expect(throws: TransferError.self) { try await file.read(at: 0, count: 1) }
    }

    @Test("directories and missing files are refused with the reason")
    func refused() async throws {
        let scratch = try Scratch()
        do {
            _ = try await OutgoingFile.open(path: scratch.root)
            Issue.record("a directory opened")
        } catch {
            #expect(error.reason.contains("is a directory"))
        }
        do {
            _ = try await OutgoingFile.open(path: scratch.root + "/missing")
            Issue.record("a missing file opened")
        } catch {
            #expect(error.code == .ioError)
            #expect(error.reason.contains("No such file"))
        }
    }

    @Test("free disk space is reported")
    func diskSpace() throws {
        let scratch = try Scratch()
        #expect(try DiskSpace.available(at: scratch.root) > 0)
        #expect(try DiskSpace.available(at: scratch.root + "/not/yet/there") > 0)
    }
}
