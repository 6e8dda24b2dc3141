import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VigilMetrics
import VigilAPI
import VigilStore

/// The live stream's fan-out: takes what the ingest, liveness and message paths publish, encodes
/// each item once, and queues the shared bytes for every client subscribed to it.
///
/// Publishing never waits: it is an atomic load when no client is subscribed, otherwise one
/// `AsyncStream` yield (a short lock). The hub's own task does the encoding and the fan-out, so the
/// ingest's event loops do neither. Its input is bounded (`stream.max_pending_items`): past it
/// items are skipped and counted rather than slowing ingest. Each client's queue is bounded too
/// (``LiveClient``): a client that does not keep up is dropped, never waited for.
///
/// In a cluster, what this server publishes also goes to the other members (``LiveRelayOutbox``:
/// samples, messages and alerts here; liveness with the tracker's view, by the server's fan-out),
/// and what they publish comes in through ``publishRemote(_:)``; hosts they hold are shown from
/// ``RemoteHosts``.
public final class LiveHub: Service, Sendable {
    let settings: StreamSettings
    let tracker: LivenessTracker
    let latest: LatestMetrics
    /// Hosts other members hold (a cluster), shown beside the tracker's.
    let remote: RemoteHosts?
    /// Where this server's own items go for the other members (a cluster).
    let outbox: LiveRelayOutbox?
    let logger: Logger
    private let items: AsyncStream<LiveItem>
    private let input: AsyncStream<LiveItem>.Continuation
    /// Clients subscribed to at least one topic: publishing is skipped while there are none.
    private let subscribed = Atomic<Int>(0)
    private let routing = Mutex(Routing())
    private let counters = Mutex(Statistics())

    /// Who is subscribed to what. Only ever locked briefly: the fan-out copies a target list out.
    private struct Routing {
        var nextID: UInt64 = 1
        /// Open stream connections (authenticated or not), against `stream.max_clients`.
        var connections = 0
        var clients: [UInt64: LiveClient] = [:]
        var topics: [UInt64: Set<LiveTopic>] = [:]
        var hostWatchers: [String: [UInt64: LiveClient]] = [:]
        var eventWatchers: [UInt64: LiveClient] = [:]
        var messageWatchers: [UInt64: LiveClient] = [:]
        var alertWatchers: [UInt64: LiveClient] = [:]
        /// Fleet subscribers that have had their first (full) fleet message.
        var fleetWatchers: [UInt64: LiveClient] = [:]
        /// Fleet subscribers waiting for their first (full) fleet message at the next tick.
        var fleetNew: [UInt64: LiveClient] = [:]
        /// Hosts changed since the last fleet tick.
        var fleetChanged: Set<String> = []
        /// Drop handlers, by client: how the connection is cut when its queue overflows.
        var onDrop: [UInt64: @Sendable () -> Void] = [:]
    }

    /// Counts since start, shown under `stream` in `GET /api/health`.
    public struct Statistics: Sendable, Equatable {
        /// Open stream connections now.
        public var clients = 0
        /// Clients dropped because their queue passed a bound.
        public var droppedSlow = 0
        /// Items skipped because the hub's input was full (`stream.max_pending_items`).
        public var skippedItems = 0
        /// Messages queued to clients (one per client per item).
        public var delivered = 0
        /// The most bytes any one client's queue held (queued or being written), over clients gone.
        public var highWaterBytes = 0
        /// The most messages any one client's queue held, over clients gone.
        public var highWaterMessages = 0
    }

    public convenience init(settings: StreamSettings, tracker: LivenessTracker, latest: LatestMetrics, logger: Logger) {
        self.init(settings: settings, tracker: tracker, latest: latest, logger: logger, remote: nil, outbox: nil)
    }

    /// A cluster member's hub: hosts other members hold shown from `remote`, its own items relayed through `outbox`.
    init(settings: StreamSettings, tracker: LivenessTracker, latest: LatestMetrics, logger: Logger, remote: RemoteHosts?, outbox: LiveRelayOutbox?) {
        self.settings = settings
        self.tracker = tracker
        self.latest = latest
        self.remote = remote
        self.outbox = outbox
        self.logger = logger
        (self.items, self.input) = AsyncStream.makeStream(of: LiveItem.self, bufferingPolicy: .bufferingOldest(settings.maxPendingItems))
    }

    // MARK: Publishing (any thread, never waits)

    /// An accepted sample: to `host:<name>` subscribers at once, and into the next fleet message.
    public func publishSample(hostname: String, receivedAt: Date, document: MetricsDocument) {
        self.outbox?.add(.sample(hostname: hostname, receivedAt: receivedAt, document: document))
        self.publish(.sample(hostname: hostname, receivedAt: receivedAt, document: document))
    }

    /// A stored liveness transition: to `events` and `host:<name>` subscribers, and into the next
    /// fleet message. (Not relayed from here: the server's fan-out relays it with the host's status.)
    public func publishTransition(_ event: LivenessEvent) {
        self.publish(.transition(event))
    }

    /// Stored messages; those to or from `server`, and broadcasts, go to `messages` subscribers.
    public func publishMessages(_ rows: [StoredMessage]) {
        guard self.outbox != nil || self.subscribed.load(ordering: .relaxed) > 0 else { return }
        for row in rows where Self.isChatMessage(row) {
            self.outbox?.add(.message(row))
            self.publish(.message(row))
        }
    }

    /// A stored alert change: to `alerts` subscribers.
    public func publishAlert(_ alert: StoredAlert) {
        self.outbox?.add(.alert(alert))
        self.publish(.alert(alert))
    }

    /// A notification queued or attempted: to `alerts` subscribers (the delivery log, live).
    public func publishNotification(_ entry: OutboxEntry) {
        self.outbox?.add(.notification(entry))
        self.publish(.notification(entry))
    }

    /// Something another member of the cluster published (its relay's copy): to this server's
    /// subscribers only, never relayed again.
    func publishRemote(_ item: LiveItem) {
        self.publish(item)
    }

    private func publish(_ item: LiveItem) {
        guard self.subscribed.load(ordering: .relaxed) > 0 else { return }
        if case .dropped = self.input.yield(item) {
            self.counters.withLock { $0.skippedItems += 1 }
        }
    }

    /// What the dashboard's chat pane shows: messages to or from `server`, and broadcasts. Not
    /// notices: the store keeps one copy per subscribed client, and `events` carries them once.
    static func isChatMessage(_ row: StoredMessage) -> Bool {
        guard row.kind != "notice" else { return false }
        return row.recipient == nil || row.recipient == MessageRules.serverID || row.sender == MessageRules.serverID
    }

    // MARK: Clients

    /// Registers a new connection; `nil` when `stream.max_clients` are open (it is then closed with 1013).
    ///
    /// - Parameter onDrop: Called (once, from the hub's task) when the client's queue passes a
    ///   bound; it must close the connection without waiting for the client.
    func open(onDrop: @escaping @Sendable () -> Void) -> LiveClient? {
        let client: LiveClient? = self.routing.withLock { routing in
            guard routing.connections < self.settings.maxClients else { return nil }
            routing.connections += 1
            let id = routing.nextID
            routing.nextID += 1
            let client = LiveClient(id: id, maxMessages: self.settings.maxQueuedMessages, maxBytes: self.settings.maxQueuedBytes)
            routing.clients[id] = client
            routing.onDrop[id] = onDrop
            return client
        }
        if client != nil { self.counters.withLock { $0.clients += 1 } }
        return client
    }

    /// Removes a connection and its subscriptions, and ends its queue.
    func close(_ client: LiveClient) {
        let removed = self.routing.withLock { routing -> Bool in
            guard routing.clients.removeValue(forKey: client.id) != nil else { return false }
            routing.connections -= 1
            routing.onDrop[client.id] = nil
            self.unsubscribe(client, from: Array(routing.topics[client.id] ?? []), in: &routing)
            routing.topics[client.id] = nil
            return true
        }
        client.end(.closed)
        let highWater = client.highWater
        self.counters.withLock { counters in
            if removed { counters.clients -= 1 }
            counters.highWaterBytes = max(counters.highWaterBytes, highWater.bytes)
            counters.highWaterMessages = max(counters.highWaterMessages, highWater.messages)
        }
    }

    /// Why a subscribe was refused.
    struct TooManyTopics: Error {
        var limit: Int
    }

    /// Adds topics to a client's subscriptions; returns all of them, sorted.
    func subscribe(_ client: LiveClient, to topics: [LiveTopic]) throws(TooManyTopics) -> [String] {
        try self.routing.withLock { (routing) throws(TooManyTopics) -> [String] in
            var current = routing.topics[client.id] ?? []
            let wasEmpty = current.isEmpty
            let added = topics.filter { !current.contains($0) }
            guard current.count + Set(added).count <= self.settings.maxTopics else { throw TooManyTopics(limit: self.settings.maxTopics) }
            for topic in added where current.insert(topic).inserted {
                switch topic {
                case .fleet: routing.fleetNew[client.id] = client
                case .events: routing.eventWatchers[client.id] = client
                case .messages: routing.messageWatchers[client.id] = client
                case .alerts: routing.alertWatchers[client.id] = client
                case .host(let name): routing.hostWatchers[name, default: [:]][client.id] = client
                }
            }
            routing.topics[client.id] = current
            if wasEmpty, !current.isEmpty { self.subscribed.add(1, ordering: .relaxed) }
            return current.map(\.name).sorted()
        }
    }

    /// Removes topics from a client's subscriptions; returns the rest, sorted.
    func unsubscribe(_ client: LiveClient, from topics: [LiveTopic]) -> [String] {
        self.routing.withLock { routing in
            self.unsubscribe(client, from: topics, in: &routing)
            return (routing.topics[client.id] ?? []).map(\.name).sorted()
        }
    }

    private func unsubscribe(_ client: LiveClient, from topics: [LiveTopic], in routing: inout Routing) {
        guard var current = routing.topics[client.id], !current.isEmpty else { return }
        for topic in topics where current.remove(topic) != nil {
            switch topic {
            case .fleet:
                routing.fleetNew[client.id] = nil
                routing.fleetWatchers[client.id] = nil
            case .events: routing.eventWatchers[client.id] = nil
            case .messages: routing.messageWatchers[client.id] = nil
            case .alerts: routing.alertWatchers[client.id] = nil
            case .host(let name):
                routing.hostWatchers[name]?[client.id] = nil
                if routing.hostWatchers[name]?.isEmpty == true { routing.hostWatchers[name] = nil }
            }
        }
        routing.topics[client.id] = current
        if current.isEmpty { self.subscribed.subtract(1, ordering: .relaxed) }
    }

    /// Queues one message for one client (answers to its own requests: `ready`, `error`, …).
    func send(_ value: some Encodable, to client: LiveClient) {
        guard let buffer = StreamOutbound.encode(value) else { return }
        self.deliver(buffer, to: [client])
    }

    /// Counts since start.
    public var statistics: Statistics { self.counters.withLock { $0 } }

    /// Clients subscribed to `topic` now.
    func subscriberCount(_ topic: LiveTopic) -> Int {
        self.routing.withLock { routing in
            switch topic {
            case .fleet: routing.fleetWatchers.count + routing.fleetNew.count
            case .events: routing.eventWatchers.count
            case .messages: routing.messageWatchers.count
            case .alerts: routing.alertWatchers.count
            case .host(let name): routing.hostWatchers[name]?.count ?? 0
            }
        }
    }

    // MARK: Fan-out (the hub's task)

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await item in self.items { self.dispatch(item) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.fleetInterval)
                        self.tickFleet()
                    }
                }
            }
        }
        self.input.finish()
    }

    func dispatch(_ item: LiveItem) {
        switch item {
        case .sample(let hostname, let receivedAt, let document):
            let targets: [LiveClient] = self.routing.withLock { routing in
                if !routing.fleetWatchers.isEmpty { routing.fleetChanged.insert(hostname) }
                return routing.hostWatchers[hostname].map { Array($0.values) } ?? []
            }
            guard !targets.isEmpty, let buffer = StreamOutbound.encode(StreamOutbound.Sample(hostname: hostname, receivedAt: receivedAt, metrics: document)) else { return }
            self.deliver(buffer, to: targets)
        case .transition(let event):
            let targets: [LiveClient] = self.routing.withLock { routing in
                if !routing.fleetWatchers.isEmpty { routing.fleetChanged.insert(event.hostname) }
                var targets = routing.eventWatchers
                targets.merge(routing.hostWatchers[event.hostname] ?? [:]) { first, _ in first }
                return Array(targets.values)
            }
            guard !targets.isEmpty else { return }
            let connected = self.status(of: event.hostname)?.connected ?? false
            if let buffer = StreamOutbound.encode(StreamOutbound.Event(event: event)) { self.deliver(buffer, to: targets) }
            if let buffer = StreamOutbound.encode(StreamOutbound.State(hostname: event.hostname, state: event.to, connected: connected, at: event.at)) {
                self.deliver(buffer, to: targets)
            }
        case .message(let row):
            let targets = self.routing.withLock { Array($0.messageWatchers.values) }
            guard !targets.isEmpty, let buffer = StreamOutbound.encode(StreamOutbound.Message(message: MessageRoutes.APIMessage(message: row))) else { return }
            self.deliver(buffer, to: targets)
        case .alert(let alert):
            let targets = self.routing.withLock { Array($0.alertWatchers.values) }
            guard !targets.isEmpty, let buffer = StreamOutbound.encode(StreamOutbound.Alert(alert: alert)) else { return }
            self.deliver(buffer, to: targets)
        case .notification(let entry):
            let targets = self.routing.withLock { Array($0.alertWatchers.values) }
            guard !targets.isEmpty, let buffer = StreamOutbound.encode(StreamOutbound.Notification(notification: NotificationRoutes.LogEntry(entry))) else { return }
            self.deliver(buffer, to: targets)
        case .hostChanged(let hostname):
            self.routing.withLock { routing in
                if !routing.fleetWatchers.isEmpty { routing.fleetChanged.insert(hostname) }
            }
        }
    }

    /// A host's status as the API shows it: this server's, or the member's that holds it.
    func status(of hostname: String) -> AgentStatus? {
        let local = self.tracker.status(of: hostname)
        return self.remote.map { $0.status(of: hostname, local: local) } ?? local
    }

    /// One fleet interval has passed: the changed hosts to those who had a fleet message before,
    /// every host to those who just subscribed.
    func tickFleet() {
        let (changed, established, new) = self.routing.withLock { routing in
            let changed = routing.fleetChanged
            routing.fleetChanged.removeAll(keepingCapacity: true)
            let established = Array(routing.fleetWatchers.values)
            let new = Array(routing.fleetNew.values)
            routing.fleetWatchers.merge(routing.fleetNew) { first, _ in first }
            routing.fleetNew.removeAll()
            return (changed, established, new)
        }
        if !established.isEmpty, !changed.isEmpty,
            let buffer = StreamOutbound.encode(StreamOutbound.Fleet(hosts: self.summaries(of: changed)))
        {
            self.deliver(buffer, to: established)
        }
        if !new.isEmpty, let buffer = StreamOutbound.encode(StreamOutbound.Fleet(hosts: self.summaries(of: nil))) {
            self.deliver(buffer, to: new)
        }
    }

    /// Summaries as `GET /api/servers` gives them, sorted by host name; every host for `nil`.
    func summaries(of hostnames: Set<String>?) -> [ServerSummary] {
        if let hostnames {
            return hostnames.sorted().map { ServerSummary(hostname: $0, status: self.status(of: $0), latest: self.latest.sample(for: $0)) }
        }
        var statuses: [String: AgentStatus] = [:]
        let local = self.tracker.snapshot()
        for status in self.remote?.merged(local) ?? local { statuses[status.hostname] = status }
        let samples = self.latest.all()
        return Set(statuses.keys).union(samples.keys).sorted().map { ServerSummary(hostname: $0, status: statuses[$0], latest: samples[$0]) }
    }

    /// Queues one shared buffer for each target; drops the ones past their bound.
    private func deliver(_ buffer: ByteBuffer, to targets: [LiveClient]) {
        var delivered = 0
        for client in targets {
            switch client.enqueue(buffer) {
            case .queued: delivered += 1
            case .dropped: self.drop(client)
            case .ended: break
            }
        }
        self.counters.withLock { $0.delivered += delivered }
    }

    /// A client passed its bound: stop routing to it, count it, and have its connection cut.
    private func drop(_ client: LiveClient) {
        let onDrop = self.routing.withLock { routing in
            self.unsubscribe(client, from: Array(routing.topics[client.id] ?? []), in: &routing)
            return routing.onDrop.removeValue(forKey: client.id)
        }
        self.counters.withLock { $0.droppedSlow += 1 }
        onDrop?()
    }
}
