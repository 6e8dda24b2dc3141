import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import VigilDashboard

/// `GET /` (the dashboard page) and `GET /assets/{name}` (its styles, scripts and icon).
///
/// The files hold no data (everything comes from the API with a bearer token), so they are
/// public. They are served from the copies compiled into the binary, or, when the setting
/// `dashboard.directory` names a directory, read from there on every request, so the dashboard
/// can be developed without rebuilding the server.
struct DashboardRoutes: Sendable {
    /// Where to read the files from instead of the embedded copies (`dashboard.directory`).
    let directory: String?
    let threadPool: NIOThreadPool

    init(directory: String?, threadPool: NIOThreadPool = .singleton) {
        self.directory = directory
        self.threadPool = threadPool
    }

    /// Only the page's own files, no inline script or style, no framing (clickjacking).
    /// `connect-src 'self'` also covers the page's own `ws:`/`wss:` origin for `/api/stream`.
    static let contentSecurityPolicy =
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"

    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    func register(on router: Router<VigilRequestContext>) {
        router.get("/") { request, _ in try await self.serve("index.html", request) }
        router.get("assets/:name") { request, context in try await self.serve(try context.parameters.require("name"), request) }
    }

    func serve(_ name: String, _ request: Request) async throws -> Response {
        guard Self.isValidName(name), let asset = try await self.asset(named: name) else {
            throw APIError(.notFound, "not_found", "no dashboard file named \(name.prefix(64).debugDescription)")
        }
        var headers: HTTPFields = [
            .eTag: asset.etag,
            // Revalidate every time (the tag makes that a 304): a new server version must never
            // run with yesterday's scripts.
            .cacheControl: "no-cache",
            .xContentTypeOptions: "nosniff",
            .contentSecurityPolicy: Self.contentSecurityPolicy,
            Self.referrerPolicy: "no-referrer",
        ]
        if let tags = request.headers[.ifNoneMatch], Self.matches(tags, asset.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        headers[.contentLength] = "\(asset.bytes.count)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    private func asset(named name: String) async throws -> DashboardAsset? {
        guard let directory = self.directory else { return DashboardAssets.file(named: name) }
        let path = directory + "/" + name
        // Read on the thread pool: never block an event loop on the disk.
        let bytes: [UInt8]? = try await self.threadPool.runIfActive {
            FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        }
        return bytes.map { DashboardAsset(name: name, bytes: $0) }
    }

    /// One plain file name (no directory part, no leading dot), so a request cannot leave the directory.
    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 128, name.first != "." else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))) || scalar == "." || scalar == "-" || scalar == "_"
        }
    }

    /// Whether an `If-None-Match` value (`*` or a list of tags, weak or strong) names this tag.
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { part in
            let tag = part.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}
