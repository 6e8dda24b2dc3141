import Foundation
import VigilAlerting
import Yams

/// The alerting file (`alerting.file`), read and checked as a whole:
///
/// ```yaml
/// rules:    [...]   # AlertRule: docs/OPERATIONS.md "Alert rules"
/// channels: [...]   # webhook, alertmanager, email: "Notification channels"
/// routes:   [...]   # NotificationRoute: "Routes"
/// ```
///
/// YAML is turned into JSON and decoded with the same `Decodable` types the API uses, so a rule
/// means the same in the file and in `POST /api/rules`, and errors name the path
/// (`rules[2].window: not a duration`).
public struct AlertingFile: Sendable, Equatable {
    public var rules: [AlertRule]
    public var routes: [NotificationRoute]
    /// The `channels` list as JSON, for the channel factory (channel settings belong to VigilNotify).
    public var channels: Data

    public init(rules: [AlertRule] = [], routes: [NotificationRoute] = [], channels: Data = Data("[]".utf8)) {
        self.rules = rules
        self.routes = routes
        self.channels = channels
    }

    /// The largest alerting file read (a bigger one is a mistake, not a configuration).
    public static let maxBytes = 4 << 20

    /// Reads and decodes the file; nil path gives the empty configuration.
    public static func load(path: String?) throws(AlertingConfigurationError) -> AlertingFile {
        guard let path else { return AlertingFile() }
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > Self.maxBytes {
                throw AlertingConfigurationError("alerting file \(path) is \(size) bytes; the limit is \(Self.maxBytes)")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as AlertingConfigurationError {
            throw error
        } catch {
            throw AlertingConfigurationError("alerting file \(path) cannot be read: \(error.localizedDescription)")
        }
        return try Self.parse(String(decoding: data, as: UTF8.self), name: path)
    }

    /// Parses YAML (or JSON, which is YAML).
    public static func parse(_ text: String, name: String = "alerting file") throws(AlertingConfigurationError) -> AlertingFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw AlertingConfigurationError("\(name) is not valid YAML: \(error)")
        }
        guard let root else { return AlertingFile() }
        guard let mapping = root.mapping else { throw AlertingConfigurationError("\(name): the top level must be a mapping with rules, channels and routes") }
        let known: Set<String> = ["rules", "channels", "routes"]
        for key in mapping.keys.compactMap(\.string) where !known.contains(key) {
            throw AlertingConfigurationError("\(name): unknown key \(key.debugDescription) (expected rules, channels, routes)")
        }
        let json: Any
        do { json = try Self.jsonValue(root) } catch { throw AlertingConfigurationError("\(name): \(error)") }
        let object = json as? [String: Any] ?? [:]
        func section(_ key: String) throws(AlertingConfigurationError) -> Data {
            guard let value = object[key], !(value is NSNull) else { return Data("[]".utf8) }
            guard value is [Any] else { throw AlertingConfigurationError("\(name): \(key) must be a list") }
            do { return try JSONSerialization.data(withJSONObject: value) } catch { throw AlertingConfigurationError("\(name): \(key): \(error)") }
        }
        let decoder = JSONDecoder()
        do {
            let rules = try decoder.decode([AlertRule].self, from: try section("rules"))
            let routes = try decoder.decode([NotificationRoute].self, from: try section("routes"))
            return AlertingFile(rules: rules, routes: routes, channels: try section("channels"))
        } catch let error as AlertingConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw AlertingConfigurationError("\(name): \(error.pathDescription)")
        } catch let error as RuleValidationError {
            throw AlertingConfigurationError("\(name): \(error)")
        } catch {
            throw AlertingConfigurationError("\(name): \(error)")
        }
    }

    /// YAML node → JSON-compatible value, by the node's resolved tag (so `"on"` quoted stays a
    /// string, and a timestamp-looking scalar is not turned into a date).
    static func jsonValue(_ node: Node) throws -> Any {
        switch node {
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return NSNull()
            case Tag.Name.bool.rawValue: return node.bool ?? scalar.string
            case Tag.Name.int.rawValue: return node.int ?? scalar.string
            case Tag.Name.float.rawValue:
                guard let number = node.float else { return scalar.string }
                guard number.isFinite else {
                    throw AlertingConfigurationError("\(scalar.string) is not a usable number (thresholds and values must be finite)")
                }
                return number
            default: return scalar.string
            }
        case .sequence(let sequence):
            return try sequence.map(Self.jsonValue)
        case .mapping(let mapping):
            var out: [String: Any] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw AlertingConfigurationError("a mapping key is not a string") }
                out[name] = try Self.jsonValue(value)
            }
            return out
        case .alias:
            throw AlertingConfigurationError("YAML aliases are not supported")
        }
    }
}

extension DecodingError {
    /// `rules[2].window: not a duration: "5 parsecs"`.
    var pathDescription: String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "(top level)" : text
        }
        switch self {
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(_, let context): return "\(path(context.codingPath)): missing value"
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): required"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
