import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilAPI
import VigilPostgres
import VigilStore

/// Makes every member of a cluster show the whole fleet, live: what this server ingests and
/// decides goes to the others over PostgreSQL NOTIFY on `vigil_live`, and what they send comes
/// into this server's latest-sample cache, its ``RemoteHosts`` and its live stream.
///
/// Sending: the publishing paths add items to the ``LiveRelayOutbox`` without waiting; every
/// `cluster.relay_flush_interval` this task packs what waits into payloads under
/// `cluster.relay_payload_bytes` (``LiveRelayBatcher``), tagged with this member's id and numbered,
/// and sends them in one statement per `cluster.relay_max_payloads_per_statement`. A failed send
/// is counted and dropped: a live view prefers the next sample to an old one.
///
/// Receiving: payloads of other members are applied in order; this server's own are skipped.
/// Nothing received is stored or judged here (the member that sent it did both). Each time the
/// LISTEN connection is (re)established the other members' hosts are read from the `agents` table
/// (state, holder, last seen), so a server that starts, or lost the connection, shows them at once.
final class LiveRelay: Service {
    /// Counts since start (the relay's share of what a cluster costs, and what it lost).
    struct Statistics: Sendable, Equatable {
        var sentItems = 0
        var sentPayloads = 0
        /// Samples sent with their process lists cut to fit a payload.
        var trimmedItems = 0
        /// Items not sent: too large for a payload, the outbox full, or the send failed.
        var skippedTooLarge = 0
        var skippedFull = 0
        var failedItems = 0
        var receivedPayloads = 0
        var receivedItems = 0
        /// Payloads of other members this server never received (gaps in their numbers).
        var missedPayloads = 0
    }

    let store: PostgresStore
    let settings: LiveRelaySettings
    let memberID: String
    let outbox: LiveRelayOutbox
    let remote: RemoteHosts
    let latest: LatestMetrics
    let hub: LiveHub
    let tracker: LivenessTracker
    /// A member silent this long is dead (`cluster.member_timeout`): its hosts are shown not connected when seeding.
    let memberTimeout: Duration
    let logger: Logger
    private let counters = Mutex(Statistics())

    init(store: PostgresStore, settings: LiveRelaySettings, memberID: String, outbox: LiveRelayOutbox, remote: RemoteHosts,
         latest: LatestMetrics, hub: LiveHub, tracker: LivenessTracker, memberTimeout: Duration, logger: Logger) {
        self.store = store
        self.settings = settings
        self.memberID = memberID
        self.outbox = outbox
        self.remote = remote
        self.latest = latest
        self.hub = hub
        self.tracker = tracker
        self.memberTimeout = memberTimeout
        self.logger = logger
    }

    var statistics: Statistics {
        var statistics = self.counters.withLock { $0 }
        statistics.skippedFull = self.outbox.skipped
        return statistics
    }

    // MARK: This server's liveness, for the others

    /// A transition this server stored: with the tracker's view of the host, or (`holder` false:
    /// the leader declaring DOWN a host whose server died) without one.
    func relay(_ event: LivenessEvent, holder: Bool) {
        var status = holder ? self.tracker.status(of: event.hostname) : nil
        status?.phi = nil  // infinite after a long silence, which JSON cannot carry; receivers show none
        // The leader's own view of a dead member's host changes as every other member's does.
        if !holder { self.remote.apply(event, status: nil, member: self.memberID) }
        self.outbox.add(.transition(event: event, status: status))
    }

    /// A host registered here: this server holds it now.
    func relayRegistration(of hostname: String) {
        self.remote.release(hostname)
        guard var status = self.tracker.status(of: hostname), status.connected else { return }
        status.phi = nil
        self.outbox.add(.registered(status: status))
    }

    // MARK: Running

    func run() async throws {
        let notifications = self.store.listen(channel: PostgresStore.liveChannel, buffer: self.settings.receiveBuffer)
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.sendLoop() }
                group.addTask { await self.receiveLoop(notifications) }
            }
        }
        let statistics = self.statistics
        self.logger.info("live relay stopped", metadata: [
            "sent_items": "\(statistics.sentItems)", "sent_payloads": "\(statistics.sentPayloads)",
            "trimmed": "\(statistics.trimmedItems)", "skipped_too_large": "\(statistics.skippedTooLarge)",
            "skipped_full": "\(statistics.skippedFull)", "failed": "\(statistics.failedItems)",
            "received_items": "\(statistics.receivedItems)", "missed_payloads": "\(statistics.missedPayloads)",
        ])
    }

    private func sendLoop() async {
        var batcher = LiveRelayBatcher(origin: self.memberID, limit: self.settings.payloadBytes)
        var failing = false
        while !Task.isCancelled {
            do { try await Task.sleep(for: self.settings.flushInterval) } catch { return }
            let items = self.outbox.take()
            guard !items.isEmpty else { continue }
            let (trimmedBefore, skippedBefore) = (batcher.trimmed, batcher.skipped)
            for item in items { batcher.add(item) }
            let payloads = batcher.take()
            if batcher.skipped > skippedBefore {
                self.logger.debug("live relay: items too large for a payload skipped", metadata: ["count": "\(batcher.skipped - skippedBefore)"])
            }
            self.counters.withLock {
                $0.trimmedItems += batcher.trimmed - trimmedBefore
                $0.skippedTooLarge += batcher.skipped - skippedBefore
            }
            let sent = items.count - (batcher.skipped - skippedBefore)
            do {
                for start in stride(from: 0, to: payloads.count, by: self.settings.maxPayloadsPerStatement) {
                    let chunk = Array(payloads[start..<min(start + self.settings.maxPayloadsPerStatement, payloads.count)])
                    try await self.store.notify(channel: PostgresStore.liveChannel, payloads: chunk)
                    self.counters.withLock { $0.sentPayloads += chunk.count }
                }
                self.counters.withLock { $0.sentItems += sent }
                if failing { self.logger.info("live relay: sending to other servers again") }
                failing = false
            } catch {
                self.counters.withLock { $0.failedItems += sent }
                if !failing, !Task.isCancelled {
                    self.logger.warning("live relay: could not send to other servers; items dropped until it can", metadata: ["error": "\(error)"])
                }
                failing = true
            }
        }
    }

    private func receiveLoop(_ notifications: AsyncStream<LiveNotification>) async {
        let decoder = LiveRelayItem.decoder()
        var sequences: [String: UInt64] = [:]
        for await notification in notifications {
            switch notification {
            case .listening:
                await self.seed()
            case .payload(let text):
                guard let payload = LiveRelayPayload.decode(text, receivedBy: self.memberID, decoder: decoder) else { continue }
                let missed = LiveRelayPayload.missed(after: sequences[payload.origin], seq: payload.seq)
                sequences[payload.origin] = payload.seq
                self.counters.withLock {
                    $0.receivedPayloads += 1
                    $0.receivedItems += payload.items.count
                    $0.missedPayloads += missed
                }
                for item in payload.items { self.apply(item, from: payload.origin) }
            }
        }
    }

    /// Shows one item another member sent.
    func apply(_ item: LiveRelayItem, from origin: String) {
        switch item {
        case .sample(let hostname, let receivedAt, let document):
            // A host connected here: its samples here are the newest truth.
            guard self.tracker.status(of: hostname)?.connected != true else { return }
            self.latest.updateRemote(hostname, LatestSample(document: document, receivedAt: receivedAt))
            self.remote.saw(hostname, at: receivedAt, member: origin)
            self.hub.publishRemote(.sample(hostname: hostname, receivedAt: receivedAt, document: document))
        case .registered(let status):
            guard self.tracker.status(of: status.hostname)?.connected != true else { return }
            self.remote.hold(status, member: origin)
            self.hub.publishRemote(.hostChanged(status.hostname))
        case .transition(let event, let status):
            if self.tracker.status(of: event.hostname)?.connected != true {
                self.remote.apply(event, status: status, member: origin)
            }
            self.hub.publishRemote(.transition(event))
        case .message(let row):
            self.hub.publishRemote(.message(row))
        case .alert(let alert):
            self.hub.publishRemote(.alert(alert))
        case .notification(let entry):
            self.hub.publishRemote(.notification(entry))
        }
    }

    /// Reads the other members' hosts from the store: at start, and after the LISTEN connection
    /// was lost (what was relayed meanwhile is missed).
    private func seed() async {
        do {
            let held = try await self.store.agentsNotHeld(by: self.memberID)
            let live = Set(try await self.store.liveMembers(timeout: self.memberTimeout).map(\.id))
            var entries: [String: RemoteHosts.Entry] = [:]
            for (record, owner) in held where self.tracker.status(of: record.hostname)?.connected != true {
                let status = AgentStatus(
                    hostname: record.hostname, state: record.state, stateSince: record.stateSince, lastSeen: record.lastSeen,
                    connected: owner.map(live.contains) ?? false, address: record.address, agentVersion: record.agentVersion, phi: nil)
                entries[record.hostname] = RemoteHosts.Entry(status: status, member: owner)
            }
            self.remote.seed(entries)
            for hostname in entries.keys { self.hub.publishRemote(.hostChanged(hostname)) }
            self.logger.info("live view: hosts of other servers read from the store", metadata: ["count": "\(entries.count)"])
        } catch {
            self.logger.warning("live view: could not read the hosts of other servers", metadata: ["error": "\(error)"])
        }
    }
}
