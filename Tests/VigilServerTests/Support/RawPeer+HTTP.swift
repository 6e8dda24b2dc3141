import Foundation
import Synchronization

/// Raw HTTP over a ``RawPeer``: exact bytes out, everything received back.
extension RawPeer {
    static func connectHTTP(_ server: TestServer) async throws -> RawPeer {
        try await RawPeer.connect(port: server.httpPort)
    }

    func send(text: String) async throws {
        try await self.send(bytes: Array(text.utf8))
    }

    /// Waits for the server to close the connection and returns all it sent.
    func answerUntilClosed(timeout: Duration = .seconds(5)) async throws -> String {
        try await eventually(timeout: timeout, "the server to close the connection") { self.isClosed }
        return self.receivedText
    }

    /// Waits until `fragment` has been received.
    func waitFor(_ fragment: String, timeout: Duration = .seconds(5)) async throws {
        try await eventually(timeout: timeout, "\"\(fragment)\" from the server") { self.receivedText.contains(fragment) }
    }

    /// Sends `text` a few bytes at a time, `interval` apart, until it is all sent or the server
    /// closes the connection. Returns how many bytes were sent.
    @discardableResult
    func trickle(_ text: String, bytesPerStep: Int = 1, interval: Duration) async -> Int {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count, !self.isClosed {
            let step = Array(bytes[sent..<min(bytes.count, sent + bytesPerStep)])
            guard (try? await self.send(bytes: step)) != nil else { break }
            sent += step.count
            try? await Task.sleep(for: interval)
        }
        return sent
    }
}

/// Runs `body` with a function that opens raw connections to `server`'s HTTP port, and closes every
/// one of them afterwards, whether `body` throws or not: a connection left open would hold up the
/// server's graceful stop at the end of the test.
func withRawHTTP(_ server: TestServer, _ body: (_ connect: @Sendable () async throws -> RawPeer) async throws -> Void) async throws {
    let opened = Mutex<[RawPeer]>([])
    let connect: @Sendable () async throws -> RawPeer = {
        let peer = try await RawPeer.connect(port: server.httpPort)
        opened.withLock { $0.append(peer) }
        return peer
    }
    do {
        try await body(connect)
    } catch {
        for peer in opened.withLock({ $0 }) { await peer.close() }
        throw error
    }
    for peer in opened.withLock({ $0 }) { await peer.close() }
}
