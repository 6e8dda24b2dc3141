import Foundation

/// One alert as Alertmanager's `POST /api/v2/alerts` takes it (its `postableAlert`).
struct AlertmanagerAlert: Encodable, Equatable {
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: Date
    var endsAt: Date
    var generatorURL: String?
}
