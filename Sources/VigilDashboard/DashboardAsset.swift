/// One file of the web dashboard: its bytes, the `Content-Type` to serve it with, and an entity tag.
public struct DashboardAsset: Sendable {
    /// The file name, e.g. `app.js` (unique: every asset lives under `/assets/<name>`).
    public let name: String
    public let bytes: [UInt8]
    /// The media type with charset for text, e.g. `text/javascript; charset=utf-8`.
    public let contentType: String
    /// A strong entity tag (quoted) derived from the bytes, so a browser revalidates cheaply.
    public let etag: String

    /// An asset named `name` with these bytes; the type comes from the extension, the tag from the bytes.
    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
        self.contentType = Self.contentType(forName: name)
        self.etag = Self.etag(for: bytes)
    }

    /// The media type for a file name's extension (`application/octet-stream` when unknown).
    public static func contentType(forName name: String) -> String {
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json": return "application/json; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// `"<16 hex digits>"`: FNV-1a (64-bit) of the bytes and their count. Not a security measure:
    /// it only has to change when the file does, and this module has no dependencies.
    public static func etag(for bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= UInt64(bytes.count)
        hash &*= 0x0000_0100_0000_01b3
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }
}
