import Foundation

/// The discovery side of a seed-style, envelope-only client, on a plain UDP socket as the original
/// Python client had: one `SERVER_DISCOVERY` datagram to the group, the answers read as JSON.
final class DiscoverySocket {
    private let descriptor: Int32

    /// - Parameter interface: The IPv4 address multicast goes out on (IP_MULTICAST_IF): loopback
    ///   reaches the servers on this host.
    init(interface: String = "127.0.0.1") throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket: \(String(cString: strerror(errno)))") }
        var address = in_addr(s_addr: inet_addr(interface))
        var on: Int32 = 1
        guard setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &address, socklen_t(MemoryLayout<in_addr>.size)) == 0,
              setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            close(fd)
            throw E2EError("setsockopt: \(String(cString: strerror(errno)))")
        }
        self.descriptor = fd
    }

    deinit {
        close(self.descriptor)
    }

    /// Sends `SERVER_DISCOVERY` as `name` and collects every answer that arrives within `window`
    /// (long enough for a second member to answer too, if the cluster answered twice).
    func discover(name: String, group: String, port: Int, window: Duration = .seconds(1)) throws -> [[String: Any]] {
        let request = #"{"type":"SERVER_DISCOVERY","sender_id":"\#(name)","payload":{},"timestamp":\#(Date().timeIntervalSince1970),"message_id":"\#(UUID().uuidString.lowercased())"}"#
        try self.send(Array(request.utf8), to: group, port: port)
        var answers: [[String: Any]] = []
        let deadline = ContinuousClock.now + window
        while let datagram = self.receive(until: deadline) {
            answers.append(try JSONSerialization.jsonObject(with: Data(datagram)) as? [String: Any] ?? [:])
        }
        return answers
    }

    /// A free UDP port on this host now (bound and released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = INADDR_ANY
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw E2EError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw E2EError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func send(_ bytes: [UInt8], to host: String, port: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { sendto(self.descriptor, $0.baseAddress, $0.count, 0, target, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard sent == bytes.count else { throw E2EError("sendto: \(String(cString: strerror(errno)))") }
    }

    /// The next datagram, or `nil` once `deadline` passes.
    private func receive(until deadline: ContinuousClock.Instant) -> [UInt8]? {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return nil }
            var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1
            guard poll(&poller, 1, milliseconds) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let got = buffer.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, 0) }
            if got > 0 { return Array(buffer.prefix(got)) }
        }
    }
}
