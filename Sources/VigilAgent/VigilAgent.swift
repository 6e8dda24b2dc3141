import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilConnection
import VigilProtocol

/// The host agent: keeps one registered connection to a server of its list, heartbeating,
/// reconnecting with backoff and failing over, until shutdown is requested. With a sampler, it also
/// samples the host's metrics every `settings.metricsInterval` and sends them as `METRICS` frames.
public struct VigilAgent: Sendable {
    public static let version = "0.1.0"

    /// Why ``run()`` returned.
    public enum Exit: Sendable, Equatable {
        /// Shutdown was requested and the agent left cleanly.
        case shutDown
        /// A server refused the registration for a reason no retry cures (wrong or revoked key,
        /// unsupported version): the operator must act.
        case refused(String)
    }

    public let settings: AgentSettings
    public let shutdown: ShutdownSignal
    private let logger: Logger
    private let group: any EventLoopGroup
    /// `nil` when metrics are off (no sampler, or `metricsInterval` ≤ 0).
    private let metrics: MetricsPipeline?

    /// - Parameters:
    ///   - sampler: Takes the metrics samples. The agent keeps this one instance for its whole
    ///     life (its rate state survives reconnects) and calls it serially on a blocking-work
    ///     thread pool. `nil`, or a `settings.metricsInterval` of zero: heartbeats only.
    /// - Precondition: `settings.servers` is not empty.
    public init(
        settings: AgentSettings,
        shutdown: ShutdownSignal = ShutdownSignal(),
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        sampler: (any MetricsSampler)? = nil
    ) {
        precondition(!settings.servers.isEmpty, "an agent needs at least one server")
        self.settings = settings
        self.shutdown = shutdown
        self.logger = logger
        self.group = group
        if let sampler, settings.metricsInterval > .zero {
            var spool: SampleSpool?
            if let spoolSettings = settings.spool {
                do {
                    spool = try SampleSpool(settings: spoolSettings)
                    let counters = spool!.counters
                    if counters.damaged > 0 {
                        logger.warning("metrics spool: cut a torn record at its end (a crash while writing); the samples before it are kept", metadata: ["directory": "\(spoolSettings.directory)"])
                    }
                    if spool!.pendingCount > 0 {
                        logger.info("metrics spool holds samples to replay", metadata: ["pending": "\(spool!.pendingCount)", "directory": "\(spoolSettings.directory)"])
                    }
                } catch {
                    // Still worth running: the samples of an outage are then dropped, as before the spool.
                    logger.error("metrics spool unavailable; samples taken while no server is reachable will be dropped", metadata: ["error": "\(error)"])
                }
            }
            self.metrics = MetricsPipeline(sampler: sampler, interval: settings.metricsInterval, refusalLogInterval: settings.metricsRefusalLogInterval, spool: spool)
        } else {
            self.metrics = nil
        }
    }

    /// Whether this agent samples and sends metrics (and announces the `"metrics"` capability).
    public var metricsEnabled: Bool { self.metrics != nil }

    /// What became of the metrics samples so far; `nil` when metrics are off.
    public var metricsStatistics: MetricsStatistics? { self.metrics?.statistics }

    /// Runs until shutdown is requested or a server refuses the key.
    ///
    /// Reconnect policy: after a session that lasted ends (its server died, or closed us), another
    /// server is tried at once when there are several, picked at random among the others so the
    /// agents of a dead cluster member spread over the rest instead of all landing on the next one
    /// in the list; with one server, the same one after a short jittered delay. A failed attempt
    /// moves on to the next server at once; after a whole round of failures the agent backs off
    /// exponentially. A `redirect` answer (a cluster member at capacity, or shedding load) is
    /// followed at once, up to ``AgentSettings/maxConsecutiveRedirects`` in a row.
    ///
    /// Metrics are sampled by one task that runs beside the sessions for the agent's whole life, so
    /// its schedule and the sampler's previous counters carry over from one connection to the next.
    public func run() async -> Exit {
        guard let metrics = self.metrics else { return await self.runSessions() }
        return await withTaskGroup(of: Void.self, returning: Exit.self) { tasks in
            tasks.addTask { [shutdown = self.shutdown, logger = self.logger] in
                await metrics.run(shutdown: shutdown, logger: logger)
            }
            let exit = await self.runSessions()
            tasks.cancelAll()
            return exit
        }
    }

    private func runSessions() async -> Exit {
        let dialer: ServerDialer
        do {
            dialer = try ServerDialer(connectTimeout: self.settings.connectTimeout, maxFrameSize: self.settings.maxFrameSize, tls: self.settings.tls)
        } catch {
            // Only a TLS context BoringSSL cannot build gets here; no retry changes it.
            self.logger.error("cannot set up TLS: \(error)")
            return .refused("cannot set up TLS: \(error)")
        }
        var backoff = ReconnectBackoff(initial: self.settings.backoffInitial, maximum: self.settings.backoffMax)
        var index = 0
        var failedAttemptsInRound = 0
        // The servers to try, in order: those configured, then the cluster members the last
        // register reply named (`session.servers`) that are not among them.
        let learned = LearnedServers()
        /// Where the last `redirect` sent the agent, tried next; and how many redirects in a row.
        var redirectTarget: ServerAddress?
        var redirectsInARow = 0
        while !self.shutdown.isRequested {
            let servers = learned.merged(with: self.settings.servers)
            let server = redirectTarget ?? servers[index % servers.count]
            redirectTarget = nil
            var sessionLogger = self.logger
            sessionLogger[metadataKey: "server"] = "\(server)"
            let logger = sessionLogger
            let registered = RegisteredFlag()
            let started = ContinuousClock.now
            logger.debug("connecting")
            let session = AgentSession(settings: self.settings, server: server, dialer: dialer, shutdown: self.shutdown, logger: logger, group: self.group, metrics: self.metrics) { parameters in
                registered.set()
                learned.replace(with: parameters.servers ?? [])
                logger.info("registered", metadata: [
                    "as": "\(parameters.hostname)", "server_id": "\(parameters.serverID)",
                    "heartbeat_interval": "\(parameters.heartbeatInterval)",
                    "metrics_interval": "\(self.metrics.map { "\($0.interval)" } ?? "off")",
                ])
            }
            do {
                switch try await session.run() {
                case .shutDown:
                    logger.info(registered.isSet ? "unregistered; shutting down" : "shutting down")
                    return .shutDown
                }
            } catch SessionError.redirected(let address, let message) {
                if registered.isSet { redirectsInARow = 0 }
                if let target = ServerAddress(parsing: address), redirectsInARow < self.settings.maxConsecutiveRedirects {
                    redirectsInARow += 1
                    redirectTarget = target
                    backoff.reset()
                    logger.info("redirected", metadata: ["to": "\(address.logEscaped)", "reason": "\(message.logEscaped)"])
                    continue
                }
                logger.warning("redirect not followed", metadata: [
                    "to": "\(address.logEscaped)",
                    "reason": "\(ServerAddress(parsing: address) == nil ? "not a host:port" : "\(redirectsInARow) redirects in a row")",
                ])
            } catch let error as SessionError where error.isPermanent {
                logger.error("\(error.description)")
                return .refused(error.description)
            } catch let failure as TLSFailure where failure.isPermanentRefusal {
                // Another CA than the pinned one: another server, or a man in the middle. Never retried.
                logger.error("\(failure.description)")
                return .refused(failure.description)
            } catch {
                logger.warning("session ended", metadata: ["error": "\(error)"])
            }
            if registered.isSet {
                redirectsInARow = 0
                failedAttemptsInRound = 0
                if ContinuousClock.now - started >= self.settings.backoffResetAfter {
                    // A session that lasted ended (its server died, or closed us): reconnect at
                    // once, to the next server when there are several (a cluster takes over),
                    // and back off only if that fails too.
                    backoff.reset()
                    if servers.count > 1 { index = ServerAddress.failoverIndex(after: server, in: servers) }
                    continue
                }
                // Accepted and dropped at once: try it again after the backoff, not in a loop.
                await self.shutdown.sleep(for: backoff.next())
                continue
            }
            index += 1
            failedAttemptsInRound += 1
            if failedAttemptsInRound >= servers.count {
                failedAttemptsInRound = 0
                let delay = backoff.next()
                logger.debug("every server failed; backing off", metadata: ["delay": "\(delay)"])
                await self.shutdown.sleep(for: delay)
            }
        }
        return .shutDown
    }
}

/// The cluster members the last register reply named, as addresses to fail over to.
private final class LearnedServers: Sendable {
    private let addresses = Mutex<[ServerAddress]>([])

    func replace(with texts: [String]) {
        let parsed = texts.compactMap(ServerAddress.init(parsing:))
        self.addresses.withLock { $0 = parsed }
    }

    /// The configured servers first, then the learned ones not among them.
    func merged(with configured: [ServerAddress]) -> [ServerAddress] {
        ServerAddress.candidates(configured: configured, learned: self.addresses.withLock { $0 })
    }
}

/// Set from the session's callback when the server accepted the registration.
private final class RegisteredFlag: Sendable {
    private let value = Mutex(false)
    func set() { self.value.withLock { $0 = true } }
    var isSet: Bool { self.value.withLock { $0 } }
}
