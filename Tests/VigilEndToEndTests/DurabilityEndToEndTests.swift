import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
import VigilProtocol

/// "An acknowledgement means durable": a real `vigil server` killed with SIGKILL while samples pour
/// in over HTTP and TCP keeps every sample it acknowledged (issue 12, defect 4).
@Suite("Durability end to end (real binaries)", .serialized)
struct DurabilityEndToEndTests {
    /// A metrics document whose only figure identifies it; `timestamp` in Unix seconds.
    static func document(timestamp: Double, cpu: Double) -> Data {
        Data(#"{"timestamp":\#(timestamp),"cpu":{"cpu_percent_total":\#(cpu),"cpu_count_logical":2}}"#.utf8)
    }

    /// Acknowledged sample times per host, in whole milliseconds (the precision history keeps).
    final class Acknowledged: Sendable {
        private let state = Mutex([String: Set<Int64>]())
        func add(_ host: String, _ timestamp: Double) {
            self.state.withLock { $0[host, default: []].insert(Int64((timestamp * 1000).rounded())) }
        }
        var all: [String: Set<Int64>] { self.state.withLock { $0 } }
        var count: Int { self.state.withLock { $0.values.reduce(0) { $0 + $1.count } } }
    }

    /// Posts samples for `host` one after another until a post fails (the server died).
    static func postUntilDead(port: Int, key: String, host: String, start: Double, acknowledged: Acknowledged) async {
        let session = URLSession(configuration: .ephemeral)
        var index = 0
        while true {
            index += 1
            let timestamp = start + Double(index) / 1000
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/metrics")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(key, forHTTPHeaderField: "X-API-Key")
            request.httpBody = Self.document(timestamp: timestamp, cpu: Double(index % 100))
            request.timeoutInterval = 5
            guard let (_, response) = try? await session.data(for: request) else { return }
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { return }
            acknowledged.add(host, timestamp)
        }
    }

    /// Registers as the agent of `host` and sends METRICS frames, keeping up to `window` without an
    /// answer, until the connection breaks. An answer `success: true` with `in_reply_to` is the
    /// acknowledgement (PROTOCOL.md §4.6).
    static func streamUntilDead(port: Int, key: String, host: String, start: Double, acknowledged: Acknowledged, window: Int = 64) {
        guard let socket = try? FramedSocket(port: port) else { return }
        let register = Envelope(.clientRegister(RegisterPayload(key: key, hostname: host, capabilities: ["heartbeat", "metrics"], agentVersion: "e2e-durability/1")), messageID: "register")
        guard (try? socket.send(register)) != nil, case .serverResponse(let registered)? = try? socket.next().body, registered.success else { return }
        var timestamps: [String: Double] = [:]
        var index = 0
        while true {
            while timestamps.count < window {
                index += 1
                let timestamp = start + Double(index) / 1000
                let id = "m-\(index)"
                let frame = #"{"type":"METRICS","message_id":"\#(id)","payload":\#(String(decoding: Self.document(timestamp: timestamp, cpu: Double(index % 100)), as: UTF8.self))}"#
                guard (try? socket.send(raw: Array(frame.utf8))) != nil else { return }
                timestamps[id] = timestamp
            }
            guard let envelope = try? socket.next() else { return }
            guard case .serverResponse(let answer) = envelope.body, let id = answer.inReplyTo, let timestamp = timestamps.removeValue(forKey: id) else { continue }
            if answer.success { acknowledged.add(host, timestamp) }
        }
    }

    @Test("kill -9 at full ingest rate: every sample answered 200 or acknowledged on TCP is in history after the restart")
    func killAtFullRate() async throws {
        var server = try await ToolServer.start(environment: ["VIGIL_METRICS_RATE_LIMIT": "10000", "VIGIL_METRICS_RATE_BURST": "100000"], openEnrollment: false, plaintextFromLoopback: true)  // raw plaintext sockets
        defer { server.stop() }
        let httpHosts = (1...4).map { "http-\($0)" }
        let tcpHosts = (1...4).map { "tcp-\($0)" }
        var keys: [String: String] = [:]
        for host in httpHosts + tcpHosts { keys[host] = try server.key(for: host) }
        let start = (Date().timeIntervalSince1970 - 600).rounded(.down)
        let acknowledged = Acknowledged()
        let (httpPort, agentPort) = (server.httpPort, server.agentPort)
        let keysByHost = keys
        let senders = Task {
            await withTaskGroup(of: Void.self) { group in
                for host in httpHosts {
                    group.addTask { await Self.postUntilDead(port: httpPort, key: keysByHost[host]!, host: host, start: start, acknowledged: acknowledged) }
                }
                for host in tcpHosts {
                    group.addTask {
                        await withCheckedContinuation { done in
                            Thread.detachNewThread {
                                Self.streamUntilDead(port: agentPort, key: keysByHost[host]!, host: host, start: start, acknowledged: acknowledged)
                                done.resume()
                            }
                        }
                    }
                }
            }
        }
        // Kill while samples are in flight, once a good number were acknowledged.
        _ = try await waitFor("2,000 acknowledged samples", timeout: .seconds(60)) { acknowledged.count >= 2000 ? true : nil }
        server.server.stop()  // SIGKILL
        await senders.value
        let kept = acknowledged.all
        #expect(Set(kept.keys) == Set(httpHosts + tcpHosts), "every sender had samples acknowledged")

        try await server.restart()
        var missing: [String: Int] = [:]
        for (host, times) in kept {
            let from = start, to = start + 3600
            let history = try await server.api.get("/api/servers/\(host)/history?metric=cpu.percent&resolution=raw&from=\(from)&to=\(to)") as? [String: Any]
            let points = history?["points"] as? [[String: Any]] ?? []
            let stored = Set(points.compactMap { ($0["t"] as? Double).map { Int64(($0 * 1000).rounded()) } })
            let lost = times.subtracting(stored)
            if !lost.isEmpty { missing[host] = lost.count }
        }
        #expect(missing.isEmpty, "acknowledged samples lost by kill -9 (host: count): \(missing); acknowledged \(acknowledged.count)")
    }

    @Test("a host killed right after its first sample: the restarted server answers its history (no 404)")
    func historyAfterEarlyCrash() async throws {
        var server = try await ToolServer.start(openEnrollment: false)
        defer { server.stop() }
        let key = try server.key(for: "h1")
        let timestamp = (Date().timeIntervalSince1970 - 5).rounded(.down)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.httpPort)/api/metrics")!)
        request.httpMethod = "POST"
        request.setValue(key, forHTTPHeaderField: "X-API-Key")
        request.httpBody = Self.document(timestamp: timestamp, cpu: 42)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        server.server.stop()  // SIGKILL at once: long before liveness.persist_interval saves the latest sample

        try await server.restart()
        let (data, status) = try await server.api.request("GET", "/api/servers/h1/history?metric=cpu.percent&from=\(timestamp - 60)")
        #expect(status == 200, "history of h1 after the restart: \(String(decoding: data, as: UTF8.self))")
        let points = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["points"] as? [[String: Any]] ?? []
        #expect(points.compactMap { $0["value"] as? Double } == [42])
    }
}
