import Hummingbird

extension APIError {
    /// `503 storage_full`: the data directory's disk has no room for this write. Nothing was
    /// stored; the same request may succeed once space returns (`Retry-After`: the next check).
    static func storageFull(_ detail: String, retryAfter: Duration) -> APIError {
        var headers: HTTPFields = [:]
        headers[.retryAfter] = "\(max(1, Int(retryAfter.seconds.rounded(.up))))"
        return APIError(.serviceUnavailable, "storage_full", detail, headers: headers)
    }
}
