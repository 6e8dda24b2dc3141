import Foundation
import Logging

/// The process's open-files limit (RLIMIT_NOFILE). Every agent and HTTP connection is a
/// descriptor: a soft limit left at a distribution's default (often 1,024) lets a few hundred idle
/// HTTP clients stop agents from registering.
enum OpenFilesLimit {
    #if os(Linux)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif

    /// Raises the soft limit to the hard limit and logs both (before and after). Warns when the
    /// result cannot hold `http.max_connections` with room to spare for agents and the database.
    ///
    /// - Returns: The soft and hard limits now in force, or `nil` when they could not be read.
    @discardableResult
    static func raiseToHardLimit(settings: ServerSettings, logger: Logger) -> (soft: UInt64, hard: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else {
            logger.warning("could not read the open files limit", metadata: ["errno": "\(errno)"])
            return nil
        }
        let before = UInt64(limit.rlim_cur)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            #if canImport(Darwin)
            // Darwin's hard limit is often RLIM_INFINITY, which it refuses as a soft limit.
            raised.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
            #else
            raised.rlim_cur = limit.rlim_max
            #endif
            if setrlimit(Self.resource, &raised) == 0 {
                limit = raised
            } else {
                logger.warning("could not raise the open files limit to the hard limit", metadata: ["errno": "\(errno)"])
            }
        }
        let soft = UInt64(limit.rlim_cur)
        let hard = UInt64(limit.rlim_max)
        logger.info("open files limit", metadata: ["soft": "\(soft)", "soft_at_start": "\(before)", "hard": "\(hard)"])
        // Agents need descriptors beyond the HTTP limit; a quarter of the limit is kept for them at least.
        if UInt64(settings.http.maxConnections) > soft - soft / 4 {
            logger.warning("http.max_connections is close to the open files limit: a flood of HTTP connections could leave no descriptors for agents; lower it or raise the hard limit (LimitNOFILE= in the service unit)", metadata: [
                "http_max_connections": "\(settings.http.maxConnections)", "open_files_soft": "\(soft)",
            ])
        }
        return (soft, hard)
    }
}
