/// `FILE_OFFER.payload`: the sender proposes one file.
public struct FileOfferPayload: Codable, Sendable, Equatable {
    /// A UUID the sender picks, in the canonical text form. Offering the same id again (after a
    /// reconnect) resumes the transfer; data frames carry its 16 bytes.
    public var transferID: String
    /// The file's name only (no directories); see ``FileName``.
    public var filename: String
    /// Bytes.
    public var size: UInt64
    /// The SHA-256 of the whole file, 64 lower-case hex digits.
    public var sha256: String
    /// Client → server: a client id the server passes the file on to once saved; absent to keep it on the server.
    public var recipient: String?
    /// Server → client: who sent the file originally (when the server passes a file on).
    public var sender: String?

    public init(transferID: String, filename: String, size: UInt64, sha256: String, recipient: String? = nil, sender: String? = nil) {
        self.transferID = transferID
        self.filename = filename
        self.size = size
        self.sha256 = sha256
        self.recipient = recipient
        self.sender = sender
    }

    enum CodingKeys: String, CodingKey {
        case filename, size, sha256, recipient, sender
        case transferID = "transfer_id"
    }
}

/// `FILE_READY.payload`: send the bytes from `offset` on.
public struct FileReadyPayload: Codable, Sendable, Equatable {
    public var transferID: String
    /// The first byte wanted: 0 for a new transfer, the receiver's durably written length when resuming.
    public var offset: UInt64
    /// The most file bytes to put in one data frame.
    public var chunkSize: Int

    public init(transferID: String, offset: UInt64, chunkSize: Int) {
        self.transferID = transferID
        self.offset = offset
        self.chunkSize = chunkSize
    }

    enum CodingKeys: String, CodingKey {
        case offset
        case transferID = "transfer_id"
        case chunkSize = "chunk_size"
    }
}

/// `FILE_REJECT.payload` and `FILE_FAILED.payload`: why a transfer will not or did not complete.
public struct FileErrorPayload: Codable, Sendable, Equatable {
    public var transferID: String
    /// Machine-readable: `file_too_large`, `over_quota`, `invalid_name`, `insufficient_disk`,
    /// `duplicate`, `checksum_mismatch`, `size_mismatch`, … (``ErrorCode``).
    public var code: ErrorCode?
    /// For people.
    public var reason: String
    /// `duplicate` only: the id of the file already stored under this transfer.
    public var fileID: String?

    public init(transferID: String, code: ErrorCode?, reason: String, fileID: String? = nil) {
        self.transferID = transferID
        self.code = code
        self.reason = reason
        self.fileID = fileID
    }

    enum CodingKeys: String, CodingKey {
        case code, reason
        case transferID = "transfer_id"
        case fileID = "file_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.transferID = try c.decode(String.self, forKey: .transferID)
        // A code this build does not know must not make the answer unreadable.
        self.code = (try? c.decodeIfPresent(String.self, forKey: .code)).flatMap { $0.flatMap(ErrorCode.init(rawValue:)) }
        self.reason = try c.decode(String.self, forKey: .reason)
        self.fileID = try c.decodeIfPresent(String.self, forKey: .fileID)
    }
}

/// `FILE_SAVED.payload`: the file is whole, verified, and in its place.
public struct FileSavedPayload: Codable, Sendable, Equatable {
    public var transferID: String
    /// The receiver's id for the stored file (`GET /api/files/{id}` on a server).
    public var fileID: String
    /// The name it was stored under (after sanitising).
    public var filename: String
    public var size: UInt64
    public var sha256: String

    public init(transferID: String, fileID: String, filename: String, size: UInt64, sha256: String) {
        self.transferID = transferID
        self.fileID = fileID
        self.filename = filename
        self.size = size
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case filename, size, sha256
        case transferID = "transfer_id"
        case fileID = "file_id"
    }
}

/// `END.payload`: the sender has offered every file it meant to in this session.
public struct EndPayload: Codable, Sendable, Equatable {
    public init() {}
}
