extension AgentConfigFile {
    /// The `"spool"` object of `agent.json` (every field optional; see OPERATIONS.md, "Agent spool"):
    ///
    /// ```json
    /// "spool": {"directory": "/var/lib/vigil/spool", "max_bytes": "64MiB", "max_age": "24h", "replay_rate": 50}
    /// ```
    public struct Spool: Codable, Sendable, Equatable {
        /// A path, or `"off"` for no spool.
        public var directory: String?
        /// Bytes, as a number or text with a unit (`"64MiB"`).
        public var maxBytes: NumberOrText?
        /// Seconds, as a number or text with a unit (`"24h"`).
        public var maxAge: NumberOrText?
        /// Samples per second.
        public var replayRate: Double?

        public init(directory: String? = nil, maxBytes: NumberOrText? = nil, maxAge: NumberOrText? = nil, replayRate: Double? = nil) {
            self.directory = directory
            self.maxBytes = maxBytes
            self.maxAge = maxAge
            self.replayRate = replayRate
        }

        enum CodingKeys: String, CodingKey {
            case directory
            case maxBytes = "max_bytes"
            case maxAge = "max_age"
            case replayRate = "replay_rate"
        }
    }

    /// A JSON value given either as a number or as text (`64MiB`, `24h`), kept as text.
    public struct NumberOrText: Codable, Sendable, Equatable {
        public var text: String

        public init(_ text: String) { self.text = text }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self.text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            } else {
                self.text = try container.decode(String.self)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(self.text)
        }
    }
}
