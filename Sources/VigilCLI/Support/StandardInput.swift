import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads standard input on a thread of its own (a blocking `read` must not hold an event loop or
/// the cooperative pool) and hands each chunk, then the end, to `deliver`.
enum StandardInput {
    enum Chunk: Sendable {
        case bytes([UInt8])
        case end
    }

    static func start(_ deliver: @escaping @Sendable (Chunk) -> Void) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                deliver(.bytes(Array(buffer.prefix(count))))
            }
            deliver(.end)
        }
        thread.name = "stdin"
        thread.start()
    }
}

/// Splits bytes into lines (for standard input that is not a terminal).
struct LineSplitter {
    private var pending: [UInt8] = []
    /// A line longer than this is cut (a chat line, not a file).
    let maxBytes: Int

    init(maxBytes: Int = 1 << 20) {
        self.maxBytes = maxBytes
    }

    mutating func feed(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(String(decoding: self.pending, as: UTF8.self))
                self.pending = []
            } else if self.pending.count < self.maxBytes {
                self.pending.append(byte)
            }
        }
        return lines
    }

    /// What is left after the end of input (a last line without a newline).
    mutating func finish() -> String? {
        defer { self.pending = [] }
        return self.pending.isEmpty ? nil : String(decoding: self.pending, as: UTF8.self)
    }
}
