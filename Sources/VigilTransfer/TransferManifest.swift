#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VigilProtocol

/// What a partial file is receiving: the offer, checked, plus who sent it. Recorded in the
/// partial's sidecar so a resume (after a reconnect or a restart) can tell it is the same file.
public struct TransferManifest: Codable, Sendable, Equatable {
    public var transferID: UUID
    /// Validated by ``FileName/validate(_:)`` and in NFC.
    public var filename: String
    /// Bytes.
    public var size: UInt64
    /// 64 lower-case hex digits.
    public var sha256: String
    /// The client the bytes come from.
    public var sender: String
    /// The client the file is meant for, when it is passed on.
    public var recipient: String?
    /// When the transfer was first offered (kept across resumes).
    public var createdAt: Date

    public init(transferID: UUID, filename: String, size: UInt64, sha256: String, sender: String, recipient: String? = nil, createdAt: Date = Date()) {
        self.transferID = transferID
        self.filename = filename
        self.size = size
        self.sha256 = sha256
        self.sender = sender
        self.recipient = recipient
        self.createdAt = createdAt
    }

    /// Checks a `FILE_OFFER`.
    ///
    /// - Parameters:
    ///   - offer: The offer as received.
    ///   - sender: Who offered it (the registered client id, or the original sender of a pushed file).
    /// - Throws: ``TransferError`` `invalid_offer` (transfer id not a UUID, SHA-256 not 64 hex digits)
    ///   or `invalid_name` (see ``FileName``), with the reason.
    public init(offer: FileOfferPayload, sender: String, createdAt: Date = Date()) throws(TransferError) {
        guard let id = UUID(uuidString: offer.transferID) else {
            throw TransferError(.invalidOffer, "transfer_id \(Self.quoted(offer.transferID)) is not a UUID (8-4-4-4-12 hex digits)")
        }
        guard offer.sha256.utf8.count == 64, offer.sha256.utf8.allSatisfy(Self.isHexDigit) else {
            throw TransferError(.invalidOffer, "sha256 \(Self.quoted(offer.sha256)) is not 64 hex digits")
        }
        let name: String
        do {
            name = try FileName.validate(offer.filename)
        } catch {
            throw TransferError(error.code, error.detail)
        }
        self.init(transferID: id, filename: name, size: offer.size, sha256: offer.sha256.lowercased(), sender: sender, recipient: offer.recipient, createdAt: createdAt)
    }

    /// Whether a partial recorded under `other` holds a prefix of this same file: same sender, size and SHA-256.
    public func isSameFile(as other: TransferManifest) -> Bool {
        self.transferID == other.transferID && self.sender == other.sender && self.size == other.size && self.sha256 == other.sha256
    }

    enum CodingKeys: String, CodingKey {
        case filename, size, sha256, sender, recipient
        case transferID = "transfer_id"
        case createdAt = "created_at"
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    /// At most 80 characters of a client's value, quoted, for an error message.
    private static func quoted(_ text: String) -> String {
        text.count > 80 ? String(text.prefix(80)).debugDescription + "…" : text.debugDescription
    }
}
