import Foundation

/// `reload-status.json` in the data directory: the last reload's outcome, with its generation, so
/// `vigil reload` (which only sends SIGHUP) can wait for the answer to its own signal and print it.
public enum ReloadStatusFile {
    public static let fileName = "reload-status.json"

    public static func path(in dataDirectory: String) -> String {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent(Self.fileName).path
    }

    /// Writes the outcome atomically (a reader never sees half a file), mode 0600 from its
    /// creation on (``PrivateFile/replace(_:with:)``: it may quote a configuration error).
    static func write(_ outcome: ReloadOutcome, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        try PrivateFile.replace(path, with: String(decoding: try encoder.encode(outcome), as: UTF8.self))
    }

    /// The outcome in the file, or `nil` when there is none (yet) or it cannot be read.
    public static func read(from path: String) -> ReloadOutcome? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ReloadOutcome.self, from: data)
    }
}
