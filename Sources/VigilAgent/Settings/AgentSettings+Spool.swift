import Foundation

extension AgentSettings {
    /// The spool from `--spool-dir` / `VIGIL_SPOOL_DIR` / the file's `spool.directory` (`off`: none;
    /// default: `spool` in the configuration directory), with `spool.max_bytes`, `spool.max_age`
    /// and `spool.replay_rate` from `VIGIL_SPOOL_MAX_BYTES`, `VIGIL_SPOOL_MAX_AGE`,
    /// `VIGIL_SPOOL_REPLAY_RATE` or the file.
    static func resolveSpool(
        _ options: AgentOptions, _ environment: [String: String], _ config: AgentConfigFile, configDirectory: String
    ) throws(AgentConfigurationError) -> SpoolSettings? {
        let file = config.spool ?? AgentConfigFile.Spool()
        let given = options.spoolDirectory ?? environment["VIGIL_SPOOL_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? file.directory
        let directory: String
        if let given {
            if given == "off" { return nil }
            directory = given.hasPrefix("/") ? given : (given == file.directory ? configDirectory : FileManager.default.currentDirectoryPath) + "/" + given
        } else {
            directory = configDirectory + "/spool"
        }
        var spool = SpoolSettings(directory: directory)
        if let text = environment["VIGIL_SPOOL_MAX_BYTES"].flatMap({ $0.isEmpty ? nil : $0 }) ?? file.maxBytes?.text {
            guard let bytes = Self.parseBytes(text), SpoolSettings.maxBytesRange.contains(bytes) else {
                throw AgentConfigurationError("spool.max_bytes: expected a size from 64KiB to 1TiB (bytes, or with a unit: KiB, MiB, GiB), got \"\(text)\"")
            }
            spool.maxBytes = bytes
        }
        if let text = environment["VIGIL_SPOOL_MAX_AGE"].flatMap({ $0.isEmpty ? nil : $0 }) ?? file.maxAge?.text {
            guard let age = Self.parseDuration(text), SpoolSettings.maxAgeRange.contains(age) else {
                throw AgentConfigurationError("spool.max_age: expected a duration from 1s to 365d (seconds, or with a unit: s, m, h, d), got \"\(text)\"")
            }
            spool.maxAge = age
        }
        if let text = environment["VIGIL_SPOOL_REPLAY_RATE"].flatMap({ $0.isEmpty ? nil : $0 }) ?? file.replayRate.map({ "\($0)" }) {
            guard let rate = Double(text.trimmedOfWhitespace), SpoolSettings.replayRateRange.contains(rate) else {
                throw AgentConfigurationError("spool.replay_rate: expected samples per second from 0.1 to 100000, got \"\(text)\"")
            }
            spool.replayRate = rate
        }
        return spool
    }

    /// `65536`, `64KiB`, `64MiB`, `1GiB` (also KB/MB/GB as the same binary units).
    static func parseBytes(_ text: String) -> Int? {
        let trimmed = text.trimmedOfWhitespace
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1 << 40), ("B", 1)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Int(trimmed.dropLast(suffix.count).trimmedOfWhitespace) else { return nil }
            let (bytes, overflow) = number.multipliedReportingOverflow(by: factor)
            return overflow ? nil : bytes
        }
        return Int(trimmed)
    }

    /// `90` (seconds), `90s`, `15m`, `24h`, `7d`.
    static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmedOfWhitespace
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        var number = trimmed
        var factor = 1.0
        for (suffix, value) in units where trimmed.hasSuffix(suffix) {
            number = String(trimmed.dropLast(suffix.count))
            factor = value
            break
        }
        guard let value = Double(number.trimmedOfWhitespace), value.isFinite, value >= 0, value * factor < 1e12 else { return nil }
        return .milliseconds(Int64((value * factor * 1000).rounded()))
    }
}
