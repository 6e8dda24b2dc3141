import Foundation
import NIOCore
import VigilMetrics
import VigilAPI
import VigilStore

/// What the server sends on the live stream, one JSON text message each (docs/STREAM.md).
///
/// Bodies reuse the REST API's own encodings (a `fleet` host is exactly an element of
/// `GET /api/servers`, a `sample` exactly the body of `GET /api/servers/{h}/current`), so the page
/// handles both the same way.
enum StreamOutbound {
    /// `{"type":"ready","user":{"name","role"}}`: the answer to a good `auth`.
    struct Ready: Encodable {
        let type = "ready"
        var user: User

        struct User: Encodable {
            var name: String
            var role: UserRole
        }

        init(_ user: SignedInUser) {
            self.user = User(name: user.name, role: user.role)
        }
    }

    /// `{"type":"error","error","detail"}`: a request the server could not follow; the stream stays open.
    struct Failure: Encodable {
        let type = "error"
        var error: String
        var detail: String
    }

    /// `{"type":"subscribed","topics":[…]}`: the client's topics after a subscribe or unsubscribe.
    struct Subscribed: Encodable {
        let type = "subscribed"
        var topics: [String]
    }

    /// `{"type":"fleet","hosts":[…]}`: the hosts that changed since the client's last one (all of
    /// them in its first).
    struct Fleet: Encodable {
        let type = "fleet"
        var hosts: [ServerSummary]
    }

    /// `{"type":"sample","hostname","received_at","metrics"}`: one accepted sample, at once.
    struct Sample: Encodable {
        let type = "sample"
        var hostname: String
        var receivedAt: Date
        var metrics: MetricsDocument

        enum CodingKeys: String, CodingKey {
            case type, hostname, metrics
            case receivedAt = "received_at"
        }
    }

    /// `{"type":"event","event":…}`: a liveness event as `GET /api/events` lists it.
    struct Event: Encodable {
        let type = "event"
        var event: LivenessEvent
    }

    /// `{"type":"state","hostname","state","connected","at"}`: a host's state after a transition.
    struct State: Encodable {
        let type = "state"
        var hostname: String
        var state: LivenessState
        var connected: Bool
        var at: Date
    }

    /// `{"type":"message","message":…}`: a message as `GET /api/messages` lists it.
    struct Message: Encodable {
        let type = "message"
        var message: MessageRoutes.APIMessage
    }

    struct Alert: Encodable {
        let type = "alert"
        var alert: StoredAlert
    }

    struct Notification: Encodable {
        let type = "notification"
        var notification: NotificationRoutes.LogEntry
    }

    /// The JSON of `value` in a buffer every subscriber shares (encoded once, never copied per client).
    static func encode(_ value: some Encodable) -> ByteBuffer? {
        guard let data = try? APICoding.encoder().encode(value) else { return nil }
        return ByteBuffer(bytes: data)
    }
}
