import Foundation
import Logging
import ServiceLifecycle
import VigilAlerting
import VigilNotify
import VigilProtocol
import VigilStore

/// Alerting's state and its one writer: turns the evaluator's transitions into stored alerts,
/// announces them on the live stream, groups what must be notified, writes notifications to the
/// durable outbox and hands them to the channel workers.
///
/// The order is what makes "nothing lost, nothing doubled" hold: a transition is stored before
/// anything is said about it; a notification is stored (with the alerts' `notified_status`, in
/// the same transaction) before its first attempt; it is marked delivered only once its channel
/// confirmed. After a crash, ``start()`` re-sends open notifications under their ids and plans
/// again whatever the alerts' `notified_status` says is owed.
public actor AlertService: Service, ReloadParticipant {
    public nonisolated let name = "alerting"
    let store: any VigilStore
    public nonisolated let evaluation: AlertEvaluation
    /// `file` and `default_rules` change with a reload; the rest is read at start.
    var settings: AlertingSettings
    let live: LiveHub?
    let logger: Logger
    let factory: (any NotificationChannelFactory)?
    /// Whether this server leads its cluster: pruning of alert history runs once per cluster, and
    /// in a cluster only the leader delivers notifications (``adoptOpenNotifications(at:)``).
    let leader: LeaderGate
    /// Several servers share the outbox (PostgreSQL): every member queues the notifications of the
    /// alerts it raises, and only the leader hands them to its channel workers.
    let clustered: Bool
    /// Outbox entries handed to this server's channel workers and not yet seen closed.
    var submitted: Set<String> = []
    /// `vigil_notifications_total` and `vigil_alerts_firing` on `GET /metrics`.
    let metrics: ServerMetrics?

    // The configuration in force.
    var file: AlertingFile
    public internal(set) var rules: RuleSet
    var routing: RoutingTable
    var workers: [String: ChannelWorker] = [:]
    var channelKinds: [String: String] = [:]
    /// Channels that keep firing alerts alive by re-sending them (Alertmanager), with their cadence.
    var resendIntervals: [String: Duration] = [:]

    // Alerts.
    /// Unresolved alerts by fingerprint.
    var active: [String: StoredAlert] = [:]
    /// Resolved alerts whose firing was notified and whose resolution is not yet queued.
    var owedResolutions: [String: StoredAlert] = [:]
    var silences: [Silence] = []
    /// Alerts waiting for their group's `group_wait`, by host.
    var groups: [String: PendingGroup] = [:]
    /// Alerts whose group is being written to the outbox right now.
    var sending: Set<String> = []
    /// When each alert was last sent to each channel (repeats), by fingerprint then channel.
    var lastSent: [String: [String: Date]] = [:]
    /// Notifications open in the outbox (pending or retrying), against `alerting.max_open_notifications`.
    var openNotifications = 0
    var lastPrune = Date.distantPast
    /// What a reload's check read, for its apply.
    var checked: (settings: AlertingSettings, prepared: Prepared)?
    private var flushTask: Task<Void, Never>?
    private var flushAt: Date?

    /// Makes the service and checks the alerting file; a bad file stops the server from starting
    /// (a reload with one is refused instead, leaving the running configuration).
    public init(store: any VigilStore, settings: AlertingSettings, live: LiveHub?, factory: (any NotificationChannelFactory)?, metrics: ServerMetrics? = nil, leader: LeaderGate = LeaderGate(), clustered: Bool = false, logger: Logger) async throws {
        self.leader = leader
        self.clustered = clustered
        self.store = store
        self.metrics = metrics
        self.settings = settings
        self.live = live
        self.factory = factory
        self.logger = logger
        let prepared = try await Self.prepare(settings: settings, store: store, factory: factory)
        self.file = prepared.file
        self.rules = prepared.rules
        self.routing = prepared.routing
        self.evaluation = AlertEvaluation(rules: prepared.rules)
        for channel in prepared.channels {
            self.channelKinds[channel.name] = channel.kind
            if let resending = channel as? AlertmanagerChannel { self.resendIntervals[channel.name] = resending.resendInterval }
            // Made here only to check them: ``start()`` makes the channels it runs. A server whose
            // start fails after this point must not be left holding HTTP clients nobody shuts down.
            await channel.shutdown()
        }
    }

    /// Loads what a previous run left: unresolved alerts (restored into the evaluator as firing,
    /// so they resolve when their condition ends), silences, resolutions owed, open notifications.
    public func start() async throws {
        if let factory = self.factory, !self.channelKinds.isEmpty {
            for channel in try factory.makeChannels(from: self.file.channels) { self.workers[channel.name] = self.makeWorker(channel) }
        }
        let now = Date()
        for alert in try await self.store.activeAlerts() {
            self.active[alert.fingerprint] = alert
            if alert.status == .firing {
                self.evaluation.restoreFiring((alert.rule, alert.hostname, alert.series, alert.firedAt ?? alert.startedAt))
            }
        }
        for alert in try await self.store.alertsAwaitingResolvedNotice() { self.owedResolutions[alert.fingerprint] = alert }
        self.countFiring()
        self.silences = try await self.store.silences(endingAfter: now.addingTimeInterval(-86_400))
        let open = try await self.store.openNotifications()
        self.openNotifications = open.count
        for entry in open {
            if self.workers[entry.notification.channel] != nil {
                await self.hand(entry)
            } else {
                try await self.store.recordAttempt(id: entry.id, state: .dead, attempts: entry.attempts, nextAttemptAt: now,
                                                   error: "channel \(entry.notification.channel) is no longer configured", at: now)
                self.openNotifications -= 1
            }
        }
        if !open.isEmpty || !self.active.isEmpty {
            self.logger.info("alerting restored", metadata: ["unresolved_alerts": "\(self.active.count)", "open_notifications": "\(open.count)", "owed_resolutions": "\(self.owedResolutions.count)"])
        }
    }

    public func run() async throws {
        try await self.start()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await batch in self.evaluation.transitions {
                        await self.handle(batch)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.tick)
                        guard !Task.isCancelled else { break }
                        await self.tick()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.evaluation.finish()
        }
        for worker in self.workers.values { await worker.stop() }
        if let checked = self.checked {
            self.checked = nil
            for channel in checked.prepared.channels { await channel.shutdown() }
        }
    }

    func makeWorker(_ channel: any NotificationChannel) -> ChannelWorker {
        ChannelWorker(channel: channel, store: self.store, settings: self.settings, logger: self.logger) { [weak self] entry in
            await self?.delivered(entry)
        }
    }

    private func delivered(_ entry: OutboxEntry) {
        if entry.state == .delivered || entry.state == .dead {
            self.openNotifications = max(0, self.openNotifications - 1)
        }
        let result = switch entry.state {
        case .delivered: "delivered"
        case .retrying, .pending: "failed"
        case .dead: "dead"
        }
        self.metrics?.notificationDelivered(channel: entry.notification.channel, kind: self.channelKinds[entry.notification.channel] ?? "unknown", result: result)
        self.live?.publishNotification(entry)
    }

    // MARK: Transitions

    func handle(_ batch: [AlertTransition]) async {
        var changes: [AlertChange] = []
        for transition in batch {
            guard let rule = self.rules.rule(named: transition.rule) else { continue }
            changes.append(AlertChange(
                transition: transition,
                summary: SummaryTemplate.render(rule.summary, rule: rule, transition: transition),
                labels: rule.alertLabels(for: transition)
            ))
        }
        let stored: [StoredAlert]
        do {
            stored = try await self.store.record(changes)
        } catch {
            self.logger.error("could not store alert transitions", metadata: ["count": "\(changes.count)", "error": "\(error)"])
            return
        }
        for alert in stored {
            if alert.status == .resolved {
                self.active[alert.fingerprint] = nil
                self.lastSent[alert.fingerprint] = nil
            } else {
                self.active[alert.fingerprint] = alert
            }
            self.live?.publishAlert(alert)
            self.log(alert)
        }
        self.countFiring()
        for alert in stored {
            switch alert.status {
            case .firing:
                if alert.notifiedStatus != .firing, !self.isSuppressed(alert, at: Date()) { self.plan(alert, status: .firing, channels: nil) }
            case .resolved:
                if alert.notifiedStatus == .firing {
                    self.owedResolutions[alert.fingerprint] = alert
                    self.plan(alert, status: .resolved, channels: nil)
                } else {
                    self.unplan(alert.fingerprint)
                }
            case .pending:
                break
            }
        }
    }

    /// Sets `vigil_alerts_firing{severity}` from the unresolved alerts.
    private func countFiring() {
        guard let metrics = self.metrics else { return }
        var counts: [Severity: Int] = [:]
        for alert in self.active.values where alert.status == .firing { counts[alert.severity, default: 0] += 1 }
        for severity in Severity.allCases { metrics.setAlertsFiring(counts[severity] ?? 0, severity: severity.rawValue) }
    }

    private func log(_ alert: StoredAlert) {
        let metadata: Logger.Metadata = [
            "rule": "\(alert.rule)", "host": "\(alert.hostname.logEscaped)", "severity": "\(alert.severity.rawValue)",
            "value": "\(alert.value.map { String($0) } ?? "-")", "summary": "\(alert.summary.logEscaped)",
        ]
        switch alert.status {
        case .firing: self.logger.warning("alert firing", metadata: metadata)
        case .resolved: self.logger.info("alert resolved", metadata: metadata)
        case .pending: self.logger.debug("alert pending", metadata: metadata)
        }
    }

    /// Whether an alert is kept from people now: a silence matches it, or its host is DOWN and it
    /// is not the DOWN itself (the DOWN says it all; its metric alerts would only add noise).
    func isSuppressed(_ alert: StoredAlert, at now: Date) -> Bool {
        self.isHeldByHostDown(alert) || self.isSilenced(alert, at: now)
    }

    /// A metric alert of a host that is DOWN now.
    func isHeldByHostDown(_ alert: StoredAlert) -> Bool {
        alert.kind != .hostDown && self.evaluation.isDown(alert.hostname)
    }

    func isSilenced(_ alert: StoredAlert, at now: Date) -> Bool {
        self.silences.contains { $0.silences(alert.labels, at: now) }
    }

    // MARK: Tick

    func tick() async {
        let now = Date()
        await self.adoptOpenNotifications(at: now)
        self.evaluation.tick(at: now)
        await self.flushDueGroups(at: now)
        self.reconcile(at: now)
        if now.timeIntervalSince(self.lastPrune) > 3600 {
            self.lastPrune = now
            await self.prune(at: now)
        }
    }

    /// Hands an outbox entry to its channel's worker: on a single server always; in a cluster only
    /// on the leader (the others leave it in the shared outbox for the leader to adopt), and once.
    func hand(_ entry: OutboxEntry) async {
        guard self.leader.isLeader, let worker = self.workers[entry.notification.channel] else { return }
        if self.clustered {
            guard self.submitted.insert(entry.id).inserted else { return }
        }
        await worker.submit(entry)
    }

    /// In a cluster, every tick: the leader reads the open entries of the shared outbox and takes
    /// those no worker of its own has, whichever member queued them (a follower's alerts, or a
    /// dead leader's entries: a notification is delivered by whoever leads, once per leader; one
    /// in flight when its leader died may be sent again by the next). A follower forgets what it
    /// handed over, so it adopts everything open should it lead later.
    func adoptOpenNotifications(at now: Date) async {
        guard self.clustered else { return }
        guard self.leader.isLeader else {
            self.submitted.removeAll()
            // The limit on open notifications is the shared outbox's: the leader closes them.
            if let count = try? await self.store.openNotificationCount() { self.openNotifications = count }
            return
        }
        let open: [OutboxEntry]
        do {
            open = try await self.store.openNotifications()
        } catch {
            self.logger.warning("could not read the shared outbox; notifications wait for the next tick", metadata: ["error": "\(error)"])
            return
        }
        // Entries no longer open were delivered or given up: forget them.
        self.submitted.formIntersection(open.map(\.id))
        self.openNotifications = open.count
        for entry in open where !self.submitted.contains(entry.id) {
            await self.hand(entry)
        }
    }

    private func prune(at now: Date) async {
        guard self.leader.isLeader else { return }
        do {
            let alerts = try await self.store.pruneAlerts(resolvedBefore: now.addingTimeInterval(-self.settings.historyRetention.seconds))
            let notifications = try await self.store.pruneNotifications(before: now.addingTimeInterval(-self.settings.deliveryLogRetention.seconds))
            if alerts + notifications > 0 {
                self.logger.info("alert history pruned", metadata: ["alerts": "\(alerts)", "notifications": "\(notifications)"])
            }
            self.silences.removeAll { $0.endsAt < now.addingTimeInterval(-86_400) }
        } catch {
            self.logger.error("could not prune alert history", metadata: ["error": "\(error)"])
        }
    }

    /// Makes sure a flush runs by `deadline` (group waits are short: half a second by default, so
    /// a DOWN reaches a webhook well within the 3 s the vision asks). Only an earlier deadline
    /// replaces the scheduled one, so planning 10,000 alerts schedules a handful of flushes.
    func scheduleFlush(by deadline: Date) {
        if let scheduled = self.flushAt, scheduled <= deadline { return }
        self.flushTask?.cancel()
        self.flushAt = deadline
        let delay = max(0, deadline.timeIntervalSinceNow)
        self.flushTask = Task {
            try? await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1))
            guard !Task.isCancelled else { return }
            await self.flushFired()
        }
    }

    private func flushFired() async {
        self.flushAt = nil
        self.flushTask = nil
        await self.flushDueGroups(at: Date())
    }

    /// After a flush: schedules the next for the earliest group still waiting.
    func rescheduleFlush() {
        guard self.flushAt == nil, let earliest = self.groups.values.map(\.deadline).min() else { return }
        self.scheduleFlush(by: max(earliest, Date().addingTimeInterval(self.openNotifications >= self.settings.maxOpenNotifications ? self.settings.tick.seconds : 0)))
    }
}
