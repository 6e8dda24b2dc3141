import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One live-stream client (`GET /api/stream`): signs in with its first message, subscribes, then
/// records when each `sample` arrives, with the two times the message carries.
///
/// Recording is kept cheap (the load generator runs 1,000 of these beside the server): the two
/// timestamps are cut out of the text by position, and parsed only after the run.
final class StreamProbe: Sendable {
    /// One received sample.
    struct Arrival: Sendable {
        /// This process's monotonic clock at arrival, nanoseconds.
        var uptimeNs: UInt64
        /// The wall clock at arrival, seconds since 1970.
        var wallSeconds: Double
        /// `metrics.timestamp`: the agent's sample time, which identifies the sample.
        var sampleTime: Substring
        /// `received_at`: when the server took the sample (milliseconds).
        var receivedAt: Substring
    }

    private struct State {
        var arrivals: [Arrival] = []
        var others = 0
        var subscribed: CheckedContinuation<Void, any Error>?
        var isSubscribed = false
        var failure: String?
    }

    let index: Int
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(index: Int) {
        self.index = index
    }

    /// Connects, signs in, subscribes to `topics`, and returns once the server confirmed the subscription.
    func start(port: Int, token: String, topics: [String]) async throws {
        let auth = #"{"type":"auth","token":"\#(token)"}"#
        let subscribe = #"{"type":"subscribe","topics":[\#(topics.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            self.state.withLock { $0.subscribed = continuation }
            let task = Task {
                do {
                    var configuration = WebSocketClientConfiguration()
                    configuration.maxFrameSize = 16 << 20
                    configuration.autoPing = .disabled
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/stream", configuration: configuration, logger: Logger(label: "stream-probe")) { inbound, outbound, _ in
                        try await outbound.write(.text(auth))
                        try await outbound.write(.text(subscribe))
                        for try await message in inbound.messages(maxSize: 16 << 20) {
                            guard case .text(let text) = message else { continue }
                            self.received(text)
                        }
                    }
                    self.fail("the stream closed")
                } catch {
                    self.fail("\(error)")
                }
            }
            self.task.withLock { $0 = task }
        }
    }

    private func received(_ text: String) {
        let uptime = NIODeadline.now().uptimeNanoseconds
        let wall = Date().timeIntervalSince1970
        // Keys are sorted: `hostname`, `metrics` (whose last key is `timestamp`), `received_at`, `type`.
        if text.hasSuffix(#""type":"sample"}"#), let received = Self.value(of: #""received_at":""#, in: text), let sample = Self.value(of: #""timestamp":""#, in: text, before: received.startIndex) {
            self.state.withLock { $0.arrivals.append(Arrival(uptimeNs: uptime, wallSeconds: wall, sampleTime: sample, receivedAt: received)) }
            return
        }
        let continuation: CheckedContinuation<Void, any Error>? = self.state.withLock { state in
            state.others += 1
            guard text.contains(#""type":"subscribed""#), !state.isSubscribed else { return nil }
            state.isSubscribed = true
            defer { state.subscribed = nil }
            return state.subscribed
        }
        continuation?.resume()
    }

    /// The string value after the last `key` (before `limit`), up to its closing quote.
    private static func value(of key: String, in text: String, before limit: String.Index? = nil) -> Substring? {
        let range = limit.map { text.startIndex..<$0 } ?? text.startIndex..<text.endIndex
        guard let found = text.range(of: key, options: .backwards, range: range) else { return nil }
        guard let end = text[found.upperBound...].firstIndex(of: "\"") else { return nil }
        return text[found.upperBound..<end]
    }

    private func fail(_ why: String) {
        let continuation: CheckedContinuation<Void, any Error>? = self.state.withLock { state in
            if state.failure == nil { state.failure = why }
            defer { state.subscribed = nil }
            return state.subscribed
        }
        continuation?.resume(throwing: BenchmarkError("stream client \(self.index): \(why)"))
    }

    var arrivals: [Arrival] { self.state.withLock { $0.arrivals } }
    var arrivalCount: Int { self.state.withLock { $0.arrivals.count } }
    /// Why the stream ended, if it did.
    var failure: String? { self.state.withLock { $0.failure } }

    /// Closes the connection.
    func stop() async {
        let task = self.task.withLock { $0 }
        task?.cancel()
        await task?.value
    }
}
