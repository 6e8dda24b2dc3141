import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import VigilServer

/// `GET /` and `GET /assets/{name}`: the embedded dashboard files with their security headers,
/// revalidation by ETag, and the `dashboard.directory` override.
@Suite("Dashboard files")
struct DashboardRoutesTests {
    /// A request without a token (the files are public); returns status, lower-cased headers and body.
    private func get(_ server: TestServer, _ path: String, headers: [String: String] = [:]) async throws -> (status: Int, headers: [String: String], body: Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.httpPort)\(path)")!)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return (http.statusCode, fields, data)
    }

    @Test("the page and its assets without a token, with type, CSP, nosniff, no-cache and an ETag")
    func embedded() async throws {
        try await TestServer.with { server in
            let page = try await self.get(server, "/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(String(decoding: page.body, as: UTF8.self).contains("<script type=\"module\" src=\"/assets/app.js\">"))
            #expect(page.headers["content-security-policy"] == DashboardRoutes.contentSecurityPolicy)
            #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)
            #expect(page.headers["x-content-type-options"] == "nosniff")
            #expect(page.headers["cache-control"] == "no-cache")

            for (name, type) in [("app.js", "text/javascript; charset=utf-8"), ("timechart.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml")] {
                let asset = try await self.get(server, "/assets/\(name)")
                #expect(asset.status == 200, "\(name)")
                #expect(asset.headers["content-type"] == type, "\(name)")
                #expect(asset.body.count > 100, "\(name)")
                let etag = try #require(asset.headers["etag"], "\(name) has no ETag")
                #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))
                let again = try await self.get(server, "/assets/\(name)", headers: ["If-None-Match": etag])
                #expect(again.status == 304, "\(name) revalidated")
                #expect(again.body.isEmpty)
                let changed = try await self.get(server, "/assets/\(name)", headers: ["If-None-Match": "\"0000000000000000\""])
                #expect(changed.status == 200)
            }
        }
    }

    @Test("every file in Sources/VigilDashboard/Assets is served, byte for byte (DashboardAssets lists them all)")
    func everyAsset() async throws {
        let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/VigilDashboard/Assets")
        let names = try FileManager.default.contentsOfDirectory(atPath: assets.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.contains("index.html") && names.contains("timechart.js"))
        try await TestServer.with { server in
            for name in names {
                let answer = try await self.get(server, "/assets/\(name)")
                #expect(answer.status == 200, "\(name) is in Assets/ but not served: add it to DashboardAssets.table")
                #expect(answer.body == (try Data(contentsOf: assets.appendingPathComponent(name))), "\(name) differs from the file (rebuild)")
            }
        }
    }

    @Test("unknown files and names that could leave the directory are 404")
    func refused() async throws {
        try await TestServer.with { server in
            for path in ["/assets/nope.js", "/assets/..%2FPackage.swift", "/assets/.hidden", "/assets/%2Fetc%2Fpasswd", "/assets/"] {
                let answer = try await self.get(server, path)
                #expect(answer.status == 404, "\(path) answered \(answer.status)")
            }
        }
        #expect(DashboardRoutes.isValidName("app.js"))
        #expect(DashboardRoutes.isValidName("a-b_c.1.css"))
        for bad in ["", ".env", "../x", "a/b", "a\\b", "é.js", String(repeating: "a", count: 200)] {
            #expect(!DashboardRoutes.isValidName(bad), "\(bad)")
        }
    }

    @Test("dashboard.directory serves the files from disk, read on every request")
    func directory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-dashboard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("<!doctype html><title>dev</title>".utf8).write(to: directory.appendingPathComponent("index.html"))
        try Data("export const v = 1;".utf8).write(to: directory.appendingPathComponent("app.js"))
        let path = directory.path
        try await TestServer.with({ $0.dashboardDirectory = path }) { server in
            let page = try await self.get(server, "/")
            #expect(String(decoding: page.body, as: UTF8.self) == "<!doctype html><title>dev</title>")
            let first = try await self.get(server, "/assets/app.js")
            #expect(first.headers["content-type"] == "text/javascript; charset=utf-8")
            try Data("export const v = 2;".utf8).write(to: directory.appendingPathComponent("app.js"))
            let second = try await self.get(server, "/assets/app.js")
            #expect(String(decoding: second.body, as: UTF8.self) == "export const v = 2;")
            #expect(first.headers["etag"] != second.headers["etag"])
            // Only what is in the directory: not the embedded copies.
            #expect(try await self.get(server, "/assets/timechart.js").status == 404)
        }
    }

    @Test("the loader reads dashboard.directory and refuses one that is not a directory")
    func setting() async throws {
        let directory = FileManager.default.temporaryDirectory.path
        let settings = try await ServerSettings.load(environment: ["VIGIL_DASHBOARD_DIRECTORY": directory])
        #expect(settings.dashboardDirectory == directory)
        #expect(try await ServerSettings.load(environment: [:]).dashboardDirectory == nil)
        let missing = directory + "/no-such-dashboard-\(UUID().uuidString)"
        await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_DASHBOARD_DIRECTORY": missing]) }
    }
}
