import Foundation
import HTTPTypes
import Hummingbird
import VigilProtocol
import VigilStore
import VigilTransfer

/// `GET /api/files` (the catalog of received files) and `GET /api/files/{id}` (a file's bytes).
///
/// Downloads are streamed from disk a chunk at a time, each chunk read on the thread pool and
/// written as the connection takes it, so memory stays bounded whatever the file's size.
struct FileRoutes: Sendable {
    let files: FileService

    static let maxLimit = 1000
    static let defaultLimit = 100
    /// Bytes read from disk per chunk of a download.
    static let downloadChunk = 256 << 10

    /// One file as the API shows it (absent values are `null`).
    struct APIFile: Encodable {
        var file: StoredFile

        enum CodingKeys: String, CodingKey {
            case id, filename, size, sha256, sender, recipient
            case createdAt = "created_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.file.id, forKey: .id)
            try c.encode(self.file.filename, forKey: .filename)
            try c.encode(self.file.size, forKey: .size)
            try c.encode(self.file.sha256, forKey: .sha256)
            try c.encode(self.file.sender, forKey: .sender)
            try c.encode(self.file.recipient, forKey: .recipient)
            try c.encode(self.file.createdAt, forKey: .createdAt)
        }
    }

    /// `GET /api/files` body.
    struct Page: Encodable {
        var files: [APIFile]
        /// Pass as `before` for the next (older) page; `null` when this page is the last.
        var nextBefore: String?

        enum CodingKeys: String, CodingKey {
            case files
            case nextBefore = "next_before"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(self.files, forKey: .files)
            try c.encode(self.nextBefore, forKey: .nextBefore)
        }
    }

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.get("files") { request, _ in try await self.list(request) }
        api.get("files/:id") { _, context in try await self.download(context) }
        api.post("files/:id/push") { request, context in try await self.push(request, context) }
    }

    /// `POST /api/files/{id}/push` body.
    struct PushBody: Decodable {
        /// The client id to pass the file on to.
        var to: String
    }

    /// `POST /api/files/{id}/push` answer.
    struct PushAccepted: Encodable {
        var fileID: String
        var to: String
        var transferID: String
        var status = "offered"

        enum CodingKeys: String, CodingKey {
            case to, status
            case fileID = "file_id"
            case transferID = "transfer_id"
        }
    }

    static let maxPushBody = 4096

    /// Offers a stored file to a connected client, as a `FILE_OFFER` from the server (202: offered;
    /// the client's answer is logged).
    func push(_ request: Request, _ context: VigilRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxPushBody)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "body is over the limit of \(Self.maxPushBody) bytes")
        }
        let parsed: PushBody
        do {
            parsed = try ProtocolViolation.decodeJSON(PushBody.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, error.code.rawValue, "\(error.detail); expected {\"to\": \"CLIENT\"}")
        }
        guard !parsed.to.isEmpty, parsed.to.utf8.count <= 253 else {
            throw APIError(.badRequest, "invalid_field", "to: a client id of 1 to 253 bytes")
        }
        guard UUID(uuidString: id) != nil else {
            throw APIError(.notFound, "not_found", "no file with id \(id.prefix(64).debugDescription)")
        }
        do {
            let file = try await self.files.push(fileID: id.lowercased(), to: parsed.to)
            self.files.logger.notice("audit", metadata: ["user": "\(context.identity?.name ?? "-")", "action": "push_file", "target": "\(parsed.to.logEscaped)", "file_id": "\(file.id)"])
            let transferID = FileService.pushTransferID(fileID: file.id, recipient: parsed.to).uuidString.lowercased()
            return try JSONResponse.make(PushAccepted(fileID: file.id, to: parsed.to, transferID: transferID), status: .accepted)
        } catch let refusal as FileService.PushRefusal {
            switch refusal {
            case .unknownFile: throw APIError(.notFound, "not_found", "no file with id \(id.prefix(64).debugDescription)")
            case .unknownRecipient: throw APIError(.notFound, "unknown_recipient", "no client named \(parsed.to.debugDescription) has registered with this server")
            case .recipientOffline: throw APIError(.conflict, "recipient_offline", "\(parsed.to) is not connected; a file is passed on only to a connected client")
            }
        }
    }

    func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let limit = try APIRoutes.integer(query["limit"].map(String.init), name: "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)
        let sender = query["sender"].map(String.init)
        if let sender, sender.isEmpty || sender.utf8.count > 253 {
            throw APIError(.badRequest, "invalid_parameter", "sender must be a client id of 1 to 253 bytes")
        }
        let before = query["before"].map(String.init)
        if let before, UUID(uuidString: before) == nil {
            throw APIError(.badRequest, "invalid_parameter", "before must be a file id (a UUID, as next_before gives it), got \(before.prefix(64).debugDescription)")
        }
        let files = try await self.files.list(sender: sender, before: before?.lowercased(), limit: limit)
        return try JSONResponse.make(Page(files: files.map(APIFile.init), nextBefore: files.count == limit ? files.last?.id : nil))
    }

    func download(_ context: VigilRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard UUID(uuidString: id) != nil, let file = try await self.files.file(id: id.lowercased()) else {
            throw APIError(.notFound, "not_found", "no file with id \(id.prefix(64).debugDescription)")
        }
        guard let path = self.files.path(of: file) else {
            throw APIError(.notFound, "not_found", "file \(file.id) has no valid place on disk")
        }
        let source: OutgoingFile
        do {
            source = try await OutgoingFile.open(path: path, threadPool: self.files.threadPool)
        } catch {
            self.files.logger.error("catalogued file missing on disk", metadata: ["file_id": "\(file.id)", "path": "\(path.debugDescription)", "error": "\(error.reason.debugDescription)"])
            throw APIError(.notFound, "file_missing", "file \(file.id) is in the catalog but its bytes are not on this server's disk (in a cluster, every member's files.directory must be one shared directory)")
        }
        if source.size != file.size {
            self.files.logger.warning("file on disk differs in size from the catalog", metadata: ["file_id": "\(file.id)", "catalog": "\(file.size)", "disk": "\(source.size)"])
        }
        let size = source.size
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .contentDisposition: Self.contentDisposition(file.filename),
            .eTag: "\"\(file.sha256)\"",
        ]
        headers[HTTPField.Name("X-Vigil-SHA256")!] = file.sha256
        headers[.contentLength] = "\(size)"
        let body = ResponseBody(contentLength: Int(size)) { writer in
            defer { source.close() }
            var offset: UInt64 = 0
            while offset < size {
                let chunk = try await source.read(at: offset, count: Self.downloadChunk)
                guard chunk.readableBytes > 0 else { break }
                offset += UInt64(chunk.readableBytes)
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 / 5987).
    static func contentDisposition(_ name: String) -> String {
        let fallback = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\" && scalar.value != 0x7F ? Character(scalar) : "_"
        })
        var encoded = ""
        for byte in name.utf8 {
            let unreserved = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || [UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~")].contains(byte)
            encoded += unreserved ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}
