import Foundation
import Testing
@testable import VigilServer

/// `HEAD` answers as `GET` would, without the body, on every GET route.
@Suite("HEAD requests", .serialized)
struct HeadRequestTests {
    @Test("HEAD / and HEAD on API routes answer as GET, with its Content-Length and no body")
    func headAsGet() async throws {
        try await TestServer.with { server in
            for path in ["/", "/api/health", "/api/agents"] {
                let get = try await server.http("GET", path)
                let head = try await server.http("HEAD", path)
                #expect(get.status == 200, "GET \(path)")
                #expect(head.status == 200, "HEAD \(path)")
                #expect(head.headers["content-type"] == get.headers["content-type"], "HEAD \(path)")
            }
            #expect(try await server.http("HEAD", "/api/agents", as: .anonymous).status == 401, "the same access rules")
            #expect(try await server.http("HEAD", "/no-such-page").status == 404)
            // On the wire: the head only, then the next answer on the same connection.
            let peer = try await RawPeer.connectHTTP(server)
            try await peer.send(text: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try await peer.waitFor("\r\n\r\nHTTP/1.1 200")
            let text = peer.receivedText
            let firstHead = try #require(text.components(separatedBy: "\r\n\r\n").first)
            #expect(firstHead.hasPrefix("HTTP/1.1 200"), "\(text)")
            let length = firstHead.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            #expect(length.map { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0 } ?? 0 > 0, "GET's length: \(firstHead)")
            #expect(!firstHead.lowercased().contains("transfer-encoding"), "\(firstHead)")
            await peer.close()
            // An error answer to HEAD has no body either: the next answer follows the head at once.
            let refused = try await RawPeer.connectHTTP(server)
            try await refused.send(text: "HEAD /api/agents HTTP/1.1\r\nHost: x\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try await refused.waitFor("\r\n\r\nHTTP/1.1 200")
            #expect(refused.receivedText.hasPrefix("HTTP/1.1 401"), "\(refused.receivedText)")
            await refused.close()
        }
    }
}
