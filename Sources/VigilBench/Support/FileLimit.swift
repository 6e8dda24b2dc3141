import Foundation

/// The open-file limit (RLIMIT_NOFILE): each simulated agent is a socket in this process and in
/// the server, which inherits the limit.
enum FileLimit {
    #if os(Linux)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif

    /// Raises the soft limit to `needed`, raising the hard limit too when this process may (root
    /// may, up to the kernel's `fs.nr_open`); otherwise to the hard limit.
    /// - Returns: The soft limit now in force.
    static func raise(to needed: UInt64) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return 0 }
        if UInt64(limit.rlim_cur) < needed {
            var raised = limit
            raised.rlim_cur = rlim_t(needed)
            raised.rlim_max = max(limit.rlim_max, rlim_t(needed))
            if setrlimit(Self.resource, &raised) == 0 { return needed }
        }
        return self.raiseToHardLimit()
    }

    /// Raises the soft limit to the hard limit.
    /// - Returns: The soft limit now in force.
    static func raiseToHardLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Self.resource, &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
