#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the kernel's files are read from: `/` on a host, a directory of fixture copies in tests.
/// Reads are plain `open`/`read` (no shelling out); /proc files report size 0, so they are read to EOF.
public struct SystemRoot: Sendable {
    public let path: String

    public init(_ path: String = "/") {
        self.path = path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The full path of `relative` (e.g. `proc/meminfo`) under this root.
    public func resolve(_ relative: String) -> String {
        self.path + "/" + relative
    }

    /// The file's text.
    /// - Throws: ``CollectorError`` naming the file when it cannot be read.
    public func read(_ relative: String) throws -> String {
        let fd = open(self.resolve(relative), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CollectorError("cannot open \(self.resolve(relative)): errno \(errno)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CollectorError("cannot read \(self.resolve(relative)): errno \(errno)")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The file's text, or `nil` if it does not exist or cannot be read (optional sources).
    public func readIfPresent(_ relative: String) -> String? {
        try? self.read(relative)
    }

    /// Entries of a directory (names only), or `[]`.
    public func list(_ relative: String) -> [String] {
        guard let directory = opendir(self.resolve(relative)) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

extension String {
    /// `key: value` lines (as in /proc/meminfo) as a dictionary of the first number after the colon.
    func colonSeparatedNumbers() -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for line in self.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces
            let number = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true).first.flatMap { UInt64($0) }
            if let number { values[String(key)] = number }
        }
        return values
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }
}
