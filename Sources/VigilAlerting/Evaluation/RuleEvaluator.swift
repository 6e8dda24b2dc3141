import VigilMetrics

/// Evaluates every rule incrementally: each sample updates only its own host's windows, through a
/// plan (which column of the host's series each rule watches) made once per host shape; nothing
/// scans all hosts except ``tick(at:)``, which only looks at hosts with a deadline (no data yet,
/// an event alert to expire).
///
/// A pure value: no clock (times come in, in milliseconds), no I/O, no locks. The server keeps one
/// behind a lock and hands the transitions it returns to the alert service.
public struct RuleEvaluator: Sendable {
    public private(set) var rules: [CompiledRule] = []
    private var thresholdRules: [Int] = []
    private var hosts: [String: HostState] = [:]
    /// Hosts a `no_data` or event alert may act on at the next tick.
    private var watched: Set<String> = []

    /// How far the boot time must move for a reboot to count (clock adjustments move it slightly).
    public static let rebootTolerance: Double = 60

    struct Entry: Sendable {
        var rule: Int
        var column: Int
        var series: String
        var key: String?
        var fingerprint: String
        var condition: ThresholdCondition
    }

    struct BuiltIn: Sendable {
        var rule: Int
        /// When an event alert (`agent_restarted`) resolves by itself.
        var expiresAt: Int64?
    }

    struct HostState: Sendable {
        var names: [String] = []
        var entries: [Entry] = []
        var labels: [String: String] = [:]
        var connectedAt: Int64?
        var lastSampleAt: Int64?
        var bootTime: Double?
        /// Where `system.boot_time` is in `names` (found once per shape, not per sample).
        var bootColumn: Int?
        var isDown = false
        /// Firing built-in alerts by fingerprint.
        var builtIns: [String: BuiltIn] = [:]
        /// The plan is stale (rules or labels changed) and is rebuilt at the next sample.
        var needsPlan = true
    }

    public init(rules: RuleSet = RuleSet()) {
        _ = self.replace(rules: rules, at: 0)
    }

    /// How many (host, rule, series) conditions are tracked: the evaluator's memory, for benchmarks.
    public var conditionCount: Int { self.hosts.values.reduce(0) { $0 + $1.entries.count } }

    // MARK: Rules

    /// Puts a new rule set in force. Alerts of rules that went away or changed resolve (reported);
    /// the others keep their state and windows.
    public mutating func replace(rules: RuleSet, at now: Int64) -> [AlertTransition] {
        let old = self.rules
        let enabled = rules.enabled
        self.rules = enabled.enumerated().map { CompiledRule($0.element, index: $0.offset) }
        self.thresholdRules = self.rules.filter { $0.rule.kind == .threshold }.map(\.index)
        var newIndex: [String: Int] = [:]
        for rule in self.rules { newIndex[rule.rule.name] = rule.index }
        var out: [AlertTransition] = []
        for (hostname, var host) in self.hosts {
            var kept: [Entry] = []
            for var entry in host.entries {
                let previous = old[entry.rule].rule
                if let index = newIndex[previous.name], self.rules[index].rule == previous {
                    entry.rule = index
                    kept.append(entry)
                } else if let status = entry.condition.reset() {
                    out.append(self.transition(old[entry.rule], host: hostname, series: entry.series, key: entry.key, fingerprint: entry.fingerprint,
                                               status: .resolved, previous: status, value: nil, at: now, reason: "the rule changed or was removed"))
                }
            }
            host.entries = kept
            var builtIns: [String: BuiltIn] = [:]
            for (fingerprint, var builtIn) in host.builtIns {
                let previous = old[builtIn.rule].rule
                if let index = newIndex[previous.name], self.rules[index].rule == previous {
                    builtIn.rule = index
                    builtIns[fingerprint] = builtIn
                } else {
                    out.append(self.transition(old[builtIn.rule], host: hostname, series: nil, key: nil, fingerprint: fingerprint,
                                               status: .resolved, previous: .firing, value: nil, at: now, reason: "the rule changed or was removed"))
                }
            }
            host.builtIns = builtIns
            host.needsPlan = true
            self.hosts[hostname] = host
        }
        if self.rules.contains(where: { $0.rule.kind == .noData }) { self.watched.formUnion(self.hosts.keys) }
        return out
    }

    /// Sets a host's labels (rules' `host_labels` scopes); its plan is rebuilt at its next sample.
    public mutating func setLabels(_ labels: [String: String], of hostname: String) {
        self.hosts[hostname, default: HostState()].labels = labels
        self.hosts[hostname]?.needsPlan = true
    }

    // MARK: Samples

    /// Takes one accepted sample of `hostname`, received at `time` (milliseconds, server clock).
    ///
    /// - Parameters:
    ///   - names: The sample's series names; hosts of one shape share one array, which makes the
    ///     "same shape as before?" check a pointer comparison.
    ///   - values: The values, parallel to `names`.
    ///   - processes: The sample's process lists, for the alerts that fire now.
    public mutating func observe(hostname: String, at time: Int64, names: [String], values: [Double], processes: MetricsDocument.Processes?) -> [AlertTransition] {
        var host = self.hosts.removeValue(forKey: hostname) ?? HostState()
        defer { self.hosts[hostname] = host }
        var out: [AlertTransition] = []
        if host.needsPlan || host.names != names {
            self.plan(&host, hostname: hostname, names: names, at: time, into: &out)
        }
        for index in host.entries.indices {
            let column = host.entries[index].column
            guard column < values.count else { continue }
            let rule = self.rules[host.entries[index].rule]
            guard let change = host.entries[index].condition.observe(values[column], at: time, rule: rule) else { continue }
            let entry = host.entries[index]
            var transition = self.transition(rule, host: hostname, series: entry.series, key: entry.key, fingerprint: entry.fingerprint,
                                              status: change.status, previous: change.previous, value: change.value, at: time)
            if change.status == .firing {
                transition.topProcesses = ProcessRanking.top(processes, for: rule.rule.series?.resource)
            }
            out.append(transition)
        }
        host.lastSampleAt = time
        self.resolveBuiltIns(of: .noData, host: &host, hostname: hostname, at: time, reason: "samples arrive again", into: &out)
        if let column = host.bootColumn, column < values.count {
            let boot = values[column]
            if let previous = host.bootTime, abs(boot - previous) > Self.rebootTolerance {
                self.fireEvent(.agentRestarted, host: &host, hostname: hostname, at: time, reason: "the host rebooted (boot time moved by \(Int(min(abs(boot - previous), 1e12))) s)", into: &out)
            }
            host.bootTime = boot
        }
        return out
    }

    private mutating func plan(_ host: inout HostState, hostname: String, names: [String], at time: Int64, into out: inout [AlertTransition]) {
        var previous: [String: Entry] = [:]
        for entry in host.entries { previous[entry.fingerprint] = entry }
        var entries: [Entry] = []
        for ruleIndex in self.thresholdRules {
            let rule = self.rules[ruleIndex]
            guard rule.rule.scope.contains(hostname, labels: host.labels), let selector = rule.rule.series else { continue }
            for (column, name) in names.enumerated() where selector.matches(name) {
                let fingerprint = AlertFingerprint.of(rule: rule.rule.name, hostname: hostname, series: name)
                if var entry = previous.removeValue(forKey: fingerprint) {
                    entry.column = column
                    entries.append(entry)
                } else {
                    entries.append(Entry(rule: ruleIndex, column: column, series: name, key: selector.key(of: name), fingerprint: fingerprint,
                                         condition: ThresholdCondition(window: rule.windowMilliseconds)))
                }
            }
        }
        // Series the host stopped sending (a filesystem unmounted) or left the scope: their alerts end.
        for var entry in previous.values {
            if let status = entry.condition.reset() {
                out.append(self.transition(self.rules[entry.rule], host: hostname, series: entry.series, key: entry.key, fingerprint: entry.fingerprint,
                                           status: .resolved, previous: status, value: nil, at: time, reason: "the host no longer sends this series"))
            }
        }
        host.entries = entries
        host.names = names
        host.bootColumn = names.firstIndex(of: "system.boot_time")
        host.needsPlan = false
    }

    // MARK: Liveness

    /// Takes a liveness change of `hostname`.
    public mutating func presence(_ presence: HostPresence, of hostname: String, at time: Int64) -> [AlertTransition] {
        var host = self.hosts.removeValue(forKey: hostname) ?? HostState()
        defer { self.hosts[hostname] = host }
        var out: [AlertTransition] = []
        switch presence {
        case .connected(let afterCleanStop):
            host.connectedAt = time
            host.lastSampleAt = nil
            self.watched.insert(hostname)
            if host.isDown {
                // Back on a new connection (the detector may say CONNECTED before RECOVERED).
                host.isDown = false
                self.resolveBuiltIns(of: .hostDown, host: &host, hostname: hostname, at: time, reason: "the host is back", into: &out)
            }
            if afterCleanStop {
                self.fireEvent(.agentRestarted, host: &host, hostname: hostname, at: time, reason: "the agent started again after a clean stop", into: &out)
            }
        case .up:
            if host.isDown {
                host.isDown = false
                self.resolveBuiltIns(of: .hostDown, host: &host, hostname: hostname, at: time, reason: "the host recovered", into: &out)
            }
            if host.connectedAt == nil { host.connectedAt = time; self.watched.insert(hostname) }
        case .down(let reason):
            host.isDown = true
            host.connectedAt = nil
            self.resolveBuiltIns(of: .noData, host: &host, hostname: hostname, at: time, reason: "the host is DOWN", into: &out)
            for rule in self.rules where rule.rule.kind == .hostDown && rule.rule.scope.contains(hostname, labels: host.labels) {
                let fingerprint = AlertFingerprint.of(rule: rule.rule.name, hostname: hostname, series: nil)
                guard host.builtIns[fingerprint] == nil else { continue }
                host.builtIns[fingerprint] = BuiltIn(rule: rule.index, expiresAt: nil)
                out.append(self.transition(rule, host: hostname, series: nil, key: nil, fingerprint: fingerprint,
                                           status: .firing, previous: .resolved, value: nil, at: time, reason: reason))
            }
        case .stopped:
            host.connectedAt = nil
            let wasDown = host.isDown
            host.isDown = false
            if wasDown { self.resolveBuiltIns(of: .hostDown, host: &host, hostname: hostname, at: time, reason: "the host stopped cleanly", into: &out) }
            self.resolveBuiltIns(of: .noData, host: &host, hostname: hostname, at: time, reason: "the host stopped cleanly", into: &out)
        }
        return out
    }

    /// Whether the host is DOWN now (its metric alerts are then not notified: the DOWN says it all).
    public func isDown(_ hostname: String) -> Bool { self.hosts[hostname]?.isDown ?? false }

    // MARK: Time

    /// Fires `no_data` for connected hosts silent too long, and resolves expired event alerts.
    /// Looks only at hosts with something pending, which is every connected host while a
    /// `no_data` rule exists; call it about once a second.
    public mutating func tick(at time: Int64) -> [AlertTransition] {
        var out: [AlertTransition] = []
        let noData = self.rules.filter { $0.rule.kind == .noData }
        var stillWatched: Set<String> = []
        for hostname in self.watched {
            guard var host = self.hosts[hostname] else { continue }
            for (fingerprint, builtIn) in host.builtIns {
                if let expiry = builtIn.expiresAt, expiry <= time {
                    host.builtIns[fingerprint] = nil
                    out.append(self.transition(self.rules[builtIn.rule], host: hostname, series: nil, key: nil, fingerprint: fingerprint,
                                               status: .resolved, previous: .firing, value: nil, at: time, reason: "event alerts resolve after their `for`"))
                }
            }
            if let connectedAt = host.connectedAt {
                let since = host.lastSampleAt ?? connectedAt
                for rule in noData where rule.rule.scope.contains(hostname, labels: host.labels) && time - since >= rule.forMilliseconds {
                    let fingerprint = AlertFingerprint.of(rule: rule.rule.name, hostname: hostname, series: nil)
                    guard host.builtIns[fingerprint] == nil else { continue }
                    host.builtIns[fingerprint] = BuiltIn(rule: rule.index, expiresAt: nil)
                    out.append(self.transition(rule, host: hostname, series: nil, key: nil, fingerprint: fingerprint, status: .firing, previous: .resolved,
                                               value: Double(time - since) / 1000, at: time, reason: "no metrics for \(AlertDuration(milliseconds: time - since))"))
                }
            }
            if (!noData.isEmpty && host.connectedAt != nil) || host.builtIns.values.contains(where: { $0.expiresAt != nil }) {
                stillWatched.insert(hostname)
            }
            self.hosts[hostname] = host
        }
        self.watched = stillWatched
        return out
    }

    // MARK: Restoring

    /// Marks an alert that was firing before a restart as firing again, so that it resolves (and
    /// is announced as resolved) when the condition ends, instead of being forgotten.
    public mutating func restoreFiring(rule name: String, hostname: String, series: String?, since: Int64) {
        guard let rule = self.rules.first(where: { $0.rule.name == name }) else { return }
        var host = self.hosts[hostname] ?? HostState()
        let fingerprint = AlertFingerprint.of(rule: name, hostname: hostname, series: series)
        switch rule.rule.kind {
        case .threshold:
            guard let series else { return }
            var condition = ThresholdCondition(window: rule.windowMilliseconds)
            condition.restoreFiring(since: since)
            host.entries.append(Entry(rule: rule.index, column: Int.max, series: series, key: rule.rule.series?.key(of: series), fingerprint: fingerprint, condition: condition))
            host.needsPlan = true
        case .hostDown:
            host.isDown = true
            host.builtIns[fingerprint] = BuiltIn(rule: rule.index, expiresAt: nil)
        case .noData:
            host.builtIns[fingerprint] = BuiltIn(rule: rule.index, expiresAt: nil)
        case .agentRestarted:
            host.builtIns[fingerprint] = BuiltIn(rule: rule.index, expiresAt: since + rule.forMilliseconds)
            self.watched.insert(hostname)
        }
        self.hosts[hostname] = host
    }

    // MARK: Helpers

    private mutating func fireEvent(_ kind: RuleKind, host: inout HostState, hostname: String, at time: Int64, reason: String, into out: inout [AlertTransition]) {
        for rule in self.rules where rule.rule.kind == kind && rule.rule.scope.contains(hostname, labels: host.labels) {
            let fingerprint = AlertFingerprint.of(rule: rule.rule.name, hostname: hostname, series: nil)
            guard host.builtIns[fingerprint] == nil else { continue }
            host.builtIns[fingerprint] = BuiltIn(rule: rule.index, expiresAt: time + max(rule.forMilliseconds, 1000))
            self.watched.insert(hostname)
            out.append(self.transition(rule, host: hostname, series: nil, key: nil, fingerprint: fingerprint, status: .firing, previous: .resolved, value: nil, at: time, reason: reason))
        }
    }

    private func resolveBuiltIns(of kind: RuleKind, host: inout HostState, hostname: String, at time: Int64, reason: String, into out: inout [AlertTransition]) {
        guard !host.builtIns.isEmpty else { return }
        for (fingerprint, builtIn) in host.builtIns where self.rules[builtIn.rule].rule.kind == kind {
            host.builtIns[fingerprint] = nil
            out.append(self.transition(self.rules[builtIn.rule], host: hostname, series: nil, key: nil, fingerprint: fingerprint,
                                       status: .resolved, previous: .firing, value: nil, at: time, reason: reason))
        }
    }

    private func transition(_ rule: CompiledRule, host: String, series: String?, key: String?, fingerprint: String, status: AlertStatus,
                            previous: AlertStatus, value: Double?, at time: Int64, reason: String? = nil) -> AlertTransition {
        AlertTransition(fingerprint: fingerprint, rule: rule.rule.name, kind: rule.rule.kind, severity: rule.rule.severity, hostname: host,
                        series: series, key: key, status: status, previous: previous, value: value,
                        threshold: rule.rule.kind == .threshold ? rule.threshold : nil, at: time, reason: reason)
    }
}
