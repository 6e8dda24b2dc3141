import Foundation

/// The baseline a file transfer is compared with: the same file copied over a loopback TCP
/// connection into a file, then fsynced, with plain blocking `read`/`write` on two threads and no
/// protocol, framing or checksum (what `nc -l > file; sync` would do, without the process overhead).
enum RawCopy {
    /// Copies `source` to `destination` over 127.0.0.1 and returns the seconds from the first byte
    /// sent to the fsync's return.
    static func run(source: String, destination: String, bufferSize: Int = 1 << 20) throws -> Double {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchmarkError("socket: \(String(cString: strerror(errno)))") }
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(listener, raw, length) == 0, listen(listener, 1) == 0, getsockname(listener, raw, &length) == 0 else {
                    throw BenchmarkError("bind/listen: \(String(cString: strerror(errno)))")
                }
            }
        }
        let port = address.sin_port
        let receiver = Thread.detachNewThreadWithResult {
            try Self.receive(listener: listener, destination: destination, bufferSize: bufferSize)
        }
        let watch = Stopwatch()
        try Self.send(source: source, port: port, bufferSize: bufferSize)
        try receiver.wait()
        return watch.seconds
    }

    private static func receive(listener: Int32, destination: String, bufferSize: Int) throws {
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { throw BenchmarkError("accept: \(String(cString: strerror(errno)))") }
        defer { close(connection) }
        let file = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard file >= 0 else { throw BenchmarkError("open \(destination): \(String(cString: strerror(errno)))") }
        defer { close(file) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = read(connection, buffer, bufferSize)
            if count == 0 { break }
            guard count > 0 else { throw BenchmarkError("read: \(String(cString: strerror(errno)))") }
            var written = 0
            while written < count {
                let result = write(file, buffer + written, count - written)
                guard result > 0 else { throw BenchmarkError("write: \(String(cString: strerror(errno)))") }
                written += result
            }
        }
        guard fsync(file) == 0 else { throw BenchmarkError("fsync: \(String(cString: strerror(errno)))") }
    }

    private static func send(source: String, port: in_port_t, bufferSize: Int) throws {
        let connection = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(connection) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(connection, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw BenchmarkError("connect: \(String(cString: strerror(errno)))") }
        let file = open(source, O_RDONLY)
        guard file >= 0 else { throw BenchmarkError("open \(source): \(String(cString: strerror(errno)))") }
        defer { close(file) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = read(file, buffer, bufferSize)
            if count == 0 { break }
            guard count > 0 else { throw BenchmarkError("read \(source): \(String(cString: strerror(errno)))") }
            var sent = 0
            while sent < count {
                let result = Glibc.send(connection, buffer + sent, count - sent, Int32(MSG_NOSIGNAL))
                guard result > 0 else { throw BenchmarkError("send: \(String(cString: strerror(errno)))") }
                sent += result
            }
        }
        shutdown(connection, Int32(SHUT_WR))
    }
}

/// A thread whose closure's result can be awaited by blocking (the benchmark's copy threads only).
final class ThreadResult: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Void, any Error>?

    func complete(_ result: Result<Void, any Error>) {
        self.condition.lock()
        self.result = result
        self.condition.broadcast()
        self.condition.unlock()
    }

    func wait() throws {
        self.condition.lock()
        while self.result == nil { self.condition.wait() }
        let result = self.result!
        self.condition.unlock()
        try result.get()
    }
}

extension Thread {
    static func detachNewThreadWithResult(_ body: @escaping @Sendable () throws -> Void) -> ThreadResult {
        let result = ThreadResult()
        Thread.detachNewThread { result.complete(Result { try body() }) }
        return result
    }
}
