import VigilProtocol

extension AgentSession {
    /// The server acknowledged or refused one of this session's samples. A live one refused for now
    /// (`rate_limited`, `server_busy`: "send it again later") is spooled; a replayed one stays in
    /// the spool for it. Any other refusal is final: such a sample can never be stored.
    func metricsAnswered(_ response: ServerResponsePayload, _ answered: MetricsLedger.Answered, _ metrics: MetricsPipeline) async {
        let retry = !response.success && (response.code == .rateLimited || response.code == .serverBusy)
        if response.success {
            if case .live = answered { metrics.noteAcknowledged() }
        } else {
            metrics.noteRefused(code: response.code?.rawValue ?? "-", message: response.message, logger: self.logger)
        }
        switch answered {
        case .live(let document):
            if retry { await metrics.keep([document], because: .unacknowledged, logger: self.logger) }
        case .replay(let record):
            await metrics.replayAnswered(record, retry: retry)
        }
    }
}
