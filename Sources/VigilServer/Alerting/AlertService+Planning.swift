import Foundation
import VigilAlerting
import VigilStore

extension AlertService {
    /// Puts an alert into its host's group. The group goes out when its `group_wait` (the shortest
    /// of the alert's routes) ends; a later change of the same alert within the wait replaces it.
    func plan(_ alert: StoredAlert, status: AlertStatus, channels: Set<String>?, repeated: Bool = false) {
        let now = Date()
        let routes = self.routing.routes(for: alert.labels)
        let wait = routes.map(\.groupWait.seconds).min() ?? 0
        var group = self.groups[alert.hostname] ?? PendingGroup(deadline: now.addingTimeInterval(wait))
        group.deadline = min(group.deadline, now.addingTimeInterval(wait))
        if var existing = group.entries[alert.fingerprint], repeated, !existing.repeated {
            existing.alert = alert  // a new firing or resolution already waits: it says more than a repeat
            group.entries[alert.fingerprint] = existing
        } else {
            group.entries[alert.fingerprint] = PendingGroup.Entry(alert: alert, status: status, repeated: repeated, channels: channels)
        }
        self.groups[alert.hostname] = group
        self.scheduleFlush(by: group.deadline)
    }

    /// Drops an alert from the groups (it resolved before its firing was ever announced).
    func unplan(_ fingerprint: String) {
        for (host, var group) in self.groups where group.entries[fingerprint] != nil {
            group.entries[fingerprint] = nil
            self.groups[host] = group.entries.isEmpty ? nil : group
        }
    }

    /// Turns every group whose wait ended into notifications, one per channel (split past
    /// `alerting.max_alerts_per_notification`), stores them with the alerts' new notified state in
    /// one transaction, and hands them to the workers. While the outbox is full, groups wait.
    func flushDueGroups(at now: Date) async {
        let due = self.groups.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
        guard !due.isEmpty else { return }
        var notifications: [AlertNotification] = []
        var markers: [Marker] = []
        var room = self.settings.maxOpenNotifications - self.openNotifications
        for (host, group) in due {
            guard room > 0 else {
                self.logger.warning("notification outbox full; alerts wait for deliveries to make room", metadata: [
                    "open": "\(self.openNotifications)", "limit": "\(self.settings.maxOpenNotifications)", "waiting_groups": "\(self.groups.count)",
                ])
                break
            }
            self.groups[host] = nil
            // Until the outbox write returns (the actor may run a tick meanwhile), these alerts
            // are neither in a group nor marked notified: `sending` keeps reconcile off them.
            self.sending.formUnion(group.entries.keys)
            let made = self.notifications(for: group, at: now)
            notifications += made.notifications
            markers += made.markers
            room -= made.notifications.count
        }
        await self.send(notifications, markers: markers, at: now)
        for (_, group) in due { self.sending.subtract(group.entries.keys) }
        self.rescheduleFlush()
    }

    struct Marker {
        var alertID: Int64
        var status: AlertStatus
        var fingerprint: String
    }

    /// One group's notifications (one per channel its alerts route to) and the alerts whose notified state they move.
    private func notifications(for group: PendingGroup, at now: Date) -> (notifications: [AlertNotification], markers: [Marker]) {
        var perChannel: [String: [(PendingGroup.Entry, AlertSnapshot)]] = [:]
        var markers: [Marker] = []
        for entry in group.entries.values.sorted(by: { $0.alert.id < $1.alert.id }) {
            // Re-check at send time: a silence or a DOWN may have begun during the wait.
            if entry.status == .firing, self.isSuppressed(entry.alert, at: now) { continue }
            if entry.status == .firing, entry.repeated, self.active[entry.alert.fingerprint]?.status != .firing { continue }
            let current = entry.status == .firing ? (self.active[entry.alert.fingerprint] ?? entry.alert) : entry.alert
            let snapshot = current.snapshot(status: entry.status)
            for route in self.routing.routes(for: entry.alert.labels) where entry.status == .firing || route.sendResolved {
                for channel in route.channels where self.workers[channel] != nil && (entry.channels?.contains(channel) ?? true) {
                    if perChannel[channel]?.contains(where: { $0.1.fingerprint == snapshot.fingerprint }) == true { continue }
                    perChannel[channel, default: []].append((entry, snapshot))
                }
            }
            if !entry.repeated { markers.append(Marker(alertID: entry.alert.id, status: entry.status, fingerprint: entry.alert.fingerprint)) }
        }
        var notifications: [AlertNotification] = []
        for (channel, items) in perChannel.sorted(by: { $0.key < $1.key }) {
            let ordered = items.filter { $0.1.status == .firing } + items.filter { $0.1.status == .resolved }
            var start = 0
            while start < ordered.count {
                let chunk = ordered[start..<min(start + self.settings.maxAlertsPerNotification, ordered.count)]
                start += chunk.count
                let allRepeats = chunk.allSatisfy { $0.0.repeated }
                let reason: AlertNotification.Reason = chunk.contains { $0.1.status == .firing } ? (allRepeats ? .repeated : .firing) : .resolved
                notifications.append(AlertNotification(
                    id: UUID().uuidString.lowercased(), groupKey: group.entries.values.first?.alert.hostname ?? "",
                    channel: channel, reason: reason, alerts: chunk.map(\.1), createdAt: now, externalURL: self.settings.externalURL
                ))
            }
        }
        return (notifications, markers)
    }

    private func send(_ notifications: [AlertNotification], markers: [Marker], at now: Date) async {
        guard !notifications.isEmpty || !markers.isEmpty else { return }
        do {
            try await self.store.enqueue(notifications, notified: markers.map { ($0.alertID, $0.status) }, at: now)
        } catch {
            self.logger.error("could not queue notifications; the alerts stay owed and are planned again", metadata: ["count": "\(notifications.count)", "error": "\(error)"])
            return
        }
        for marker in markers {
            if marker.status == .firing, self.active[marker.fingerprint]?.id == marker.alertID {
                self.active[marker.fingerprint]?.notifiedStatus = .firing
                self.active[marker.fingerprint]?.lastNotifiedAt = now
            } else if marker.status == .resolved, self.owedResolutions[marker.fingerprint]?.id == marker.alertID {
                self.owedResolutions[marker.fingerprint] = nil
            }
        }
        for notification in notifications {
            for alert in notification.alerts where alert.status == .firing {
                self.lastSent[alert.fingerprint, default: [:]][notification.channel] = now
            }
            self.openNotifications += 1
            let entry = OutboxEntry(notification: notification, nextAttemptAt: now, updatedAt: now)
            self.live?.publishNotification(entry)
            await self.hand(entry)
        }
    }

    /// Plans what is owed and not yet planned: firing alerts never announced (their silence ended,
    /// their host came back, a restart came between), resolutions owed, and repeats that are due.
    func reconcile(at now: Date) {
        for alert in self.active.values where alert.status == .firing {
            let planned = self.groups[alert.hostname]?.entries[alert.fingerprint] != nil || self.sending.contains(alert.fingerprint)
            guard !planned, !self.isSuppressed(alert, at: now) else { continue }
            if alert.notifiedStatus != .firing {
                self.plan(alert, status: .firing, channels: nil)
                continue
            }
            var due: Set<String> = []
            for route in self.routing.routes(for: alert.labels) {
                for channel in route.channels {
                    let resend = self.resendIntervals[channel]
                    let keepsAlive = resend != nil
                    // Acknowledged alerts are not repeated to people; Alertmanager still hears of
                    // them, or it would let them expire while they fire.
                    if alert.acknowledgedBy != nil, !keepsAlive { continue }
                    let interval = resend.map { min(route.repeatInterval.seconds, $0.seconds) } ?? route.repeatInterval.seconds
                    let last = self.lastSent[alert.fingerprint]?[channel] ?? alert.lastNotifiedAt ?? alert.firedAt ?? now
                    if now.timeIntervalSince(last) >= interval { due.insert(channel) }
                }
            }
            if !due.isEmpty { self.plan(alert, status: .firing, channels: due, repeated: true) }
        }
        for alert in self.owedResolutions.values where self.groups[alert.hostname]?.entries[alert.fingerprint] == nil && !self.sending.contains(alert.fingerprint) {
            self.plan(alert, status: .resolved, channels: nil)
        }
    }
}
