import Foundation
import PostgresNIO
import VigilAPI
import VigilStore

/// Agents and liveness events (tables `agents`, `liveness_events`).
extension PostgresStore {
    public func upsertAgent(_ record: AgentRecord) async throws {
        let capabilities = String(decoding: try JSONEncoder().encode(record.capabilities), as: UTF8.self)
        try await self.client.query("""
            INSERT INTO agents(hostname, state, state_since, first_seen, last_seen, agent_version, protocol_version, capabilities, address)
            VALUES (\(record.hostname), \(record.state.rawValue), \(record.stateSince.timeIntervalSince1970),
                    \(record.firstSeen.timeIntervalSince1970), \(record.lastSeen?.timeIntervalSince1970),
                    \(record.agentVersion), \(record.protocolVersion.map(Int64.init)), \(capabilities), \(record.address))
            ON CONFLICT (hostname) DO UPDATE SET
              state = excluded.state, state_since = excluded.state_since, last_seen = excluded.last_seen,
              agent_version = excluded.agent_version, protocol_version = excluded.protocol_version,
              capabilities = excluded.capabilities, address = excluded.address
            """, logger: self.logger)
    }

    public func agents() async throws -> [AgentRecord] {
        try await self.client.query("SELECT * FROM agents ORDER BY hostname", logger: self.logger).rows().map(Self.agent(from:))
    }

    public func agent(hostname: String) async throws -> AgentRecord? {
        try await self.client.query("SELECT * FROM agents WHERE hostname = \(hostname)", logger: self.logger)
            .rows().first.map(Self.agent(from:))
    }

    @discardableResult
    public func append(events: [LivenessEvent]) async throws -> [LivenessEvent] {
        guard !events.isEmpty else { return [] }
        return try await self.transaction { connection in
            var stored: [LivenessEvent] = []
            stored.reserveCapacity(events.count)
            for var event in events {
                let at = event.at.timeIntervalSince1970
                let rows = try await connection.query("""
                    INSERT INTO liveness_events(hostname, from_state, to_state, reason, at)
                    VALUES (\(event.hostname), \(event.from?.rawValue), \(event.to.rawValue), \(event.reason), \(at))
                    RETURNING id
                    """, logger: self.logger)
                for try await id in rows.decode(Int64.self) { event.id = id }
                try await connection.query("""
                    INSERT INTO agents(hostname, state, state_since, first_seen, capabilities)
                    VALUES (\(event.hostname), \(event.to.rawValue), \(at), \(at), '[]')
                    ON CONFLICT (hostname) DO UPDATE SET state = excluded.state, state_since = excluded.state_since
                    """, logger: self.logger)
                stored.append(event)
            }
            return stored
        }
    }

    public func events(hostname: String?, limit: Int, before: Int64?) async throws -> [LivenessEvent] {
        try await self.client.query("""
            SELECT * FROM liveness_events
            WHERE (\(hostname)::text IS NULL OR hostname = \(hostname)) AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(Int64(max(0, limit)))
            """, logger: self.logger).rows().map(Self.event(from:))
    }

    public func updateLastSeen(_ entries: [String: Date]) async throws {
        guard !entries.isEmpty else { return }
        // One statement for the whole batch: two arrays unnested side by side.
        let hostnames = Array(entries.keys)
        let times = hostnames.map { entries[$0]!.timeIntervalSince1970 }
        try await self.client.query("""
            UPDATE agents SET last_seen = batch.at
            FROM unnest(\(hostnames)::text[], \(times)::double precision[]) AS batch(hostname, at)
            WHERE agents.hostname = batch.hostname
            """, logger: self.logger)
    }

    static func agent(from row: PostgresRandomAccessRow) throws -> AgentRecord {
        let capabilitiesJSON: String = try row.value("capabilities")
        let capabilities = (try? JSONDecoder().decode([String].self, from: Data(capabilitiesJSON.utf8))) ?? []
        return AgentRecord(
            hostname: try row.value("hostname"),
            state: LivenessState(rawValue: try row.value("state")) ?? .down,
            stateSince: try row.date("state_since"),
            firstSeen: try row.date("first_seen"),
            lastSeen: try row.optionalDate("last_seen"),
            agentVersion: try row.value("agent_version", as: String?.self),
            protocolVersion: try row.value("protocol_version", as: Int64?.self).map { Int(clamping: $0) },
            capabilities: capabilities,
            address: try row.value("address", as: String?.self)
        )
    }

    static func event(from row: PostgresRandomAccessRow) throws -> LivenessEvent {
        LivenessEvent(
            id: try row.value("id", as: Int64.self), hostname: try row.value("hostname"),
            from: try row.value("from_state", as: String?.self).flatMap(LivenessState.init(rawValue:)),
            to: LivenessState(rawValue: try row.value("to_state")) ?? .down,
            reason: try row.value("reason"),
            at: try row.date("at")
        )
    }
}
