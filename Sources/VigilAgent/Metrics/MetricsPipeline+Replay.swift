import Foundation
import Logging
import VigilMetrics

extension MetricsPipeline {
    /// Sends spooled samples through `send` oldest first, at most `spool.replay_rate` a second and
    /// `spool.replay_window` unacknowledged at once, until `send` returns `false` (the session's
    /// stream ended) or the task is cancelled. New samples keep flowing live meanwhile: replayed
    /// ones are back-fill, which the server stores without moving the host's current figures.
    ///
    /// When the spool is empty it looks again every second, so samples spooled during the session
    /// (a refused or backlogged one) follow shortly.
    func replay(_ send: @escaping @Sendable (UInt64, MetricsDocument) -> Bool, logger: Logger) async {
        guard let spool = self.spool else { return }
        // Records a previous session had in flight are sent again.
        guard (try? await self.threadPool.runIfActive { spool.releaseAll() }) != nil else { return }
        let interval = Duration.seconds(1 / spool.settings.replayRate)
        let clock = ContinuousClock()
        var next = clock.now
        var announced = false
        let decoder = JSONDecoder()
        while !Task.isCancelled {
            let checkout: SampleSpool.Checkout
            do {
                checkout = try await self.threadPool.runIfActive { spool.checkout() }
            } catch {
                return  // the pool is shutting down: the agent is stopping
            }
            let pause: Duration
            switch checkout {
            case .record(let record):
                guard let document = try? decoder.decode(MetricsDocument.self, from: Data(record.payload)) else {
                    // Checksummed, so written this way: unreadable by this version. Never sendable.
                    _ = try? await self.threadPool.runIfActive { spool.acknowledge(record.id) }
                    continue
                }
                if !announced {
                    announced = true
                    logger.info("replaying spooled metrics samples", metadata: ["pending": "\(spool.pendingCount)", "replay_rate": "\(spool.settings.replayRate)"])
                }
                guard send(record.id, document) else {
                    spool.release(record.id)
                    return
                }
                next = max(next + interval, clock.now - interval)
                do { try await clock.sleep(until: next) } catch { return }
                continue
            case .windowFull:
                pause = interval
            case .empty:
                if announced {
                    announced = false
                    logger.info("spooled metrics samples replayed", metadata: ["acknowledged_total": "\(spool.counters.acknowledged)"])
                }
                pause = .seconds(1)
            }
            do { try await clock.sleep(for: pause) } catch { return }
            next = clock.now
        }
    }

    /// The server answered a replayed sample: stored, or refused for good (it can never be
    /// stored: too old, invalid, or a server older than back-fill calling it stale), so it leaves
    /// the spool; or refused for now (`rate_limited`, `server_busy`), so it is sent again later.
    func replayAnswered(_ id: UInt64, retry: Bool) async {
        guard let spool = self.spool else { return }
        _ = try? await self.threadPool.runIfActive {
            if retry { spool.release(id) } else { spool.acknowledge(id) }
        }
    }

    /// A session ended: its live samples that the server did not acknowledge, and any it was
    /// handed but never took, are spooled (the server keeps a (host, timestamp) once, so one it
    /// did store is not stored twice); its replayed samples in flight are sent again next time.
    func sessionEnded(unacknowledged: [MetricsDocument], logger: Logger) async {
        await self.keep(unacknowledged + self.takeOrphans(), because: .unacknowledged, logger: logger)
        if let spool = self.spool {
            _ = try? await self.threadPool.runIfActive { spool.releaseAll() }
        }
    }
}
