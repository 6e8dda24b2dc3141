import Foundation
import Testing
@testable import VigilServer

/// HTTPS on the HTTP port with the server's CA (`curl --cacert`, `openssl s_client`), HSTS over
/// HTTPS only, and plain HTTP only where `http.plaintext` allows.
@Suite("TLS on the HTTP port")
struct TLSHTTPTests {
    /// Runs a tool to completion on a thread of its own (waiting for it on the cooperative pool, which
    /// has one thread per core, would starve the server it talks to); its output and exit status.
    private func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.runBlocking(tool, arguments) })
            }
        }
    }

    private static func runBlocking(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func caFile(_ server: TestServer) throws -> String {
        let path = server.directory.appendingPathComponent("tls/ca.pem").path
        #expect(FileManager.default.fileExists(atPath: path))
        return path
    }

    @Test("curl --cacert reaches the API over HTTPS, with Strict-Transport-Security; plain HTTP from loopback has none")
    func curlOverHTTPS() async throws {
        try await TestServer.with { server in
            let ca = try self.caFile(server)
            let secure = try await self.run("curl", ["-sS", "-i", "--cacert", ca, "https://localhost:\(server.httpPort)/api/health"])
            #expect(secure.status == 0, "\(secure.output)")
            #expect(secure.output.contains("HTTP/1.1 200"))
            #expect(secure.output.lowercased().contains("strict-transport-security: max-age=31536000"))
            let plain = try await self.run("curl", ["-sS", "-i", "http://127.0.0.1:\(server.httpPort)/api/health"])
            #expect(plain.output.contains("HTTP/1.1 200"), "\(plain.output)")
            #expect(!plain.output.lowercased().contains("strict-transport-security"))
            // Without the CA, curl refuses the server: nothing is trusted by accident.
            let untrusted = try await self.run("curl", ["-sS", "https://localhost:\(server.httpPort)/api/health"])
            #expect(untrusted.status != 0)
        }
    }

    @Test("http.plaintext never: plain HTTP is answered 400 tls_required and closed")
    func plainHTTPRefused() async throws {
        try await TestServer.with({ $0.httpPlaintext = .never }) { server in
            let plain = try await self.run("curl", ["-sS", "-i", "http://127.0.0.1:\(server.httpPort)/api/health"])
            #expect(plain.output.contains("HTTP/1.1 400"), "\(plain.output)")
            #expect(plain.output.contains("\"error\":\"tls_required\""))
            let secure = try await self.run("curl", ["-sS", "--cacert", try self.caFile(server), "https://localhost:\(server.httpPort)/api/health"])
            #expect(secure.status == 0, "\(secure.output)")
        }
    }

    @Test("openssl s_client: -tls1_2 is refused and -tls1_3 accepted, on both ports")
    func opensslVersions() async throws {
        try await TestServer.with { server in
            let ca = try self.caFile(server)
            for port in [server.agentPort, server.httpPort] {
                let old = try await self.run("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_2", "-CAfile", ca, "-verify_return_error"])
                #expect(old.status != 0, "port \(port): \(old.output)")
                let current = try await self.run("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_3", "-CAfile", ca, "-verify_return_error", "-servername", "localhost"])
                #expect(current.status == 0, "port \(port): \(current.output)")
                #expect(current.output.contains("TLSv1.3"), "port \(port)")
                #expect(current.output.contains("Verify return code: 0 (ok)"), "port \(port)")
            }
        }
    }
}
