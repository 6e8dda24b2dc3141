extension ServerMetrics {
    /// Every family's name and help text, in one place: the registry requires one help text per
    /// name, and promtool one per family. Units are in the names (`_seconds`), counters end in `_total`.
    enum Names {
        static let heartbeats = ("vigil_agent_heartbeats_total", "Heartbeats received on agent connections.")
        static let frames = ("vigil_agent_frames_received_total", "Frames received on agent connections, by message type (FILE_DATA: binary file data; invalid: a frame that could not be parsed).")
        static let protocolErrors = ("vigil_agent_protocol_errors_total", "Error answers sent on agent connections, by error code; outcome refused: the frame was dropped and the connection goes on, closed: the connection was closed.")
        static let agentConnections = ("vigil_agent_connections", "Open agent-port connections by phase: handshake (accepted, not registered yet) or registered.")
        static let sessions = ("vigil_agent_sessions", "Registered agent-port sessions by client kind: agent (a host's vigil-agent) or user (a person's tool).")
        static let httpConnections = ("vigil_http_connections", "Open HTTP connections.")
        static let streamClients = ("vigil_stream_clients", "Open live-stream (GET /api/stream) connections.")
        static let ingestQueue = ("vigil_metrics_ingest_queue_depth", "Metrics samples accepted and waiting to be written to the history store.")
        static let samplesStored = ("vigil_metrics_samples_stored_total", "Metrics samples written to the history store.")
        static let detection = ("vigil_liveness_detection_seconds", "Seconds from a host's last heartbeat to the failure detector's DOWN decision (silence on an open connection, or a lost connection not re-established within the grace).")
        static let httpRequests = ("vigil_http_request_duration_seconds", "HTTP requests by route pattern, method and status code, and the seconds until the answer's last byte was written.")
        static let fleetRender = ("vigil_fleet_exposition_render_seconds", "Seconds to render the GET /metrics/fleet exposition text.")
        static let notifications = ("vigil_notifications_total", "Alert notifications handed to channels, by channel name, channel kind and result.")
        static let alertsFiring = ("vigil_alerts_firing", "Alerts firing now, by severity.")
        static let buildInfo = ("vigil_build_info", "Always 1; the version label names the server's version.")
    }
}
