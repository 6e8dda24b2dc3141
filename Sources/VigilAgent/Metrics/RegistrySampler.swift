import Logging
import Synchronization
import VigilCollectors
import VigilMetrics

/// The agent's real sampler: one ``CollectorRegistry``, owned here for the agent's whole life.
///
/// The registry is a mutating value that keeps each collector's previous counters, so rates are
/// computed against the previous sample. It lives in a `Mutex` and is mutated in place there, never
/// copied per sample; the agent calls ``sample()`` serially, so the lock is never contended.
public final class RegistrySampler: MetricsSampler {
    private struct State {
        var registry: CollectorRegistry
        /// Each failing collector's last error, to log a failure when it starts or changes, not every sample.
        var failing: [String: CollectorError] = [:]
    }

    private let state: Mutex<State>
    private let hostname: String
    private let logger: Logger

    public init(registry: CollectorRegistry, hostname: String, logger: Logger) {
        self.state = Mutex(State(registry: registry))
        self.hostname = hostname
        self.logger = logger
    }

    public func sample() -> MetricsDocument {
        let (document, started, recovered) = self.state.withLock { state in
            let (document, failures) = state.registry.sample(hostname: self.hostname)
            let started = failures.filter { state.failing[$0.key] != $0.value }
            let recovered = state.failing.keys.filter { failures[$0] == nil }
            state.failing = failures
            return (document, started, recovered)
        }
        for (name, failure) in started.sorted(by: { $0.key < $1.key }) {
            self.logger.warning("collector failed; its section is left out until it recovers", metadata: ["collector": "\(name)", "error": "\(failure)"])
        }
        for name in recovered.sorted() {
            self.logger.info("collector recovered", metadata: ["collector": "\(name)"])
        }
        return document
    }
}
