import Foundation
import Logging
import VigilAlerting
import VigilProtocol
import VigilStore

/// Delivers one channel's notifications from the outbox: a few at a time
/// (`alerting.delivery_concurrency`), each bounded by `alerting.delivery_timeout`, retried with
/// exponential backoff until delivered or dead. Each channel has its own worker, so a receiver
/// that answers 500 or hangs delays only its own notifications.
actor ChannelWorker {
    private(set) var channel: any NotificationChannel
    private let store: any AlertStore
    private let settings: AlertingSettings
    private let logger: Logger
    /// Told of every attempt's outcome (metrics, the outbox count, the live stream).
    private let onOutcome: @Sendable (OutboxEntry) async -> Void
    private var queue: [OutboxEntry] = []
    private var inFlight = 0
    private var waiting: [String: Task<Void, Never>] = [:]
    private var stopped = false

    init(channel: any NotificationChannel, store: any AlertStore, settings: AlertingSettings, logger: Logger, onOutcome: @escaping @Sendable (OutboxEntry) async -> Void) {
        self.channel = channel
        self.store = store
        self.settings = settings
        self.logger = logger
        self.onOutcome = onOutcome
    }

    /// Uses a new channel object (a reload changed its settings) for the next attempts.
    func replace(_ channel: any NotificationChannel) async {
        let old = self.channel
        self.channel = channel
        await old.shutdown()
    }

    /// Queues an entry: at once when due, else at its next attempt time.
    func submit(_ entry: OutboxEntry) {
        guard !self.stopped else { return }
        let delay = entry.nextAttemptAt.timeIntervalSinceNow
        if delay > 0.001 {
            self.waiting[entry.id]?.cancel()
            self.waiting[entry.id] = Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(Int64(min(delay, 86_400) * 1000)))
                guard !Task.isCancelled else { return }
                await self?.due(entry)
            }
            return
        }
        self.queue.append(entry)
        self.pump()
    }

    private func due(_ entry: OutboxEntry) {
        self.waiting[entry.id] = nil
        guard !self.stopped else { return }
        self.queue.append(entry)
        self.pump()
    }

    /// How many entries wait or are in flight here.
    var backlog: Int { self.queue.count + self.inFlight + self.waiting.count }

    /// Stops taking work; entries not yet delivered stay open in the store for the next start.
    func stop() async {
        self.stopped = true
        for task in self.waiting.values { task.cancel() }
        self.waiting.removeAll()
        self.queue.removeAll()
        await self.channel.shutdown()
    }

    private func pump() {
        while self.inFlight < self.settings.deliveryConcurrency, !self.queue.isEmpty, !self.stopped {
            let entry = self.queue.removeFirst()
            self.inFlight += 1
            Task { await self.attempt(entry) }
        }
    }

    private func attempt(_ entry: OutboxEntry) async {
        let channel = self.channel
        let number = entry.attempts + 1
        let notification = entry.notification
        let failure = await DeliveryDeadline.run(self.settings.deliveryTimeout) { () async throws(DeliveryFailure) in
            try await channel.deliver(notification, attempt: number)
        }
        var next = entry
        next.attempts = number
        let now = Date()
        next.updatedAt = now
        if let failure {
            next.lastError = String(failure.description.prefix(1000))
            if failure.kind == .permanent || number >= self.settings.maxAttempts {
                next.state = .dead
                self.logger.error("notification dead", metadata: [
                    "channel": "\(channel.name.logEscaped)", "notification": "\(entry.id)", "attempts": "\(number)", "error": "\(failure.description.logEscaped)",
                ])
            } else {
                next.state = .retrying
                next.nextAttemptAt = now.addingTimeInterval(self.backoff(afterAttempt: number))
                self.logger.warning("notification attempt failed; will retry", metadata: [
                    "channel": "\(channel.name.logEscaped)", "notification": "\(entry.id)", "attempt": "\(number)",
                    "retry_in": "\(String(format: "%.1f", next.nextAttemptAt.timeIntervalSince(now))) s", "error": "\(failure.description.logEscaped)",
                ])
            }
        } else {
            next.state = .delivered
            next.deliveredAt = now
            next.lastError = nil
            self.logger.info("notification delivered", metadata: ["channel": "\(channel.name.logEscaped)", "notification": "\(entry.id)", "attempt": "\(number)"])
        }
        do {
            try await self.store.recordAttempt(id: next.id, state: next.state, attempts: next.attempts, nextAttemptAt: next.nextAttemptAt, error: next.lastError, at: now)
        } catch {
            // The outcome is not on disk: a delivered one is re-sent after a restart (same id, so
            // receivers drop it); a failed one is retried from memory now.
            self.logger.error("could not record a delivery attempt", metadata: ["notification": "\(entry.id)", "error": "\(error)"])
        }
        await self.onOutcome(next)
        self.inFlight -= 1
        if next.state == .retrying { self.submit(next) }
        self.pump()
    }

    /// `retry_initial × 2^(attempt−1)`, capped at `retry_max`, with ±10 % jitter so retries of many
    /// notifications to one receiver do not arrive in step.
    func backoff(afterAttempt attempt: Int) -> TimeInterval {
        let base = min(self.settings.retryMax.seconds, self.settings.retryInitial.seconds * pow(2, Double(min(attempt - 1, 30))))
        return base * Double.random(in: 0.9...1.1)
    }
}
