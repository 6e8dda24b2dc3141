import Foundation
import NIOCore
import VigilProtocol

/// A minimal framed client on a plain blocking socket, for what Vigil's own tools never do on
/// purpose: send a message and drop the connection before reading the acknowledgement.
final class FramedSocket {
    private let descriptor: Int32

    init(port: Int, timeout: Duration = .seconds(5)) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw E2EError("connect: \(String(cString: strerror(errno)))")
        }
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        self.descriptor = fd
    }

    deinit {
        close(self.descriptor)
    }

    func send(_ envelope: Envelope) throws {
        try self.send(raw: Array(envelope.encodedFrame().readableBytesView))
    }

    /// Sends one frame with this payload (the length field is added).
    func send(raw payload: [UInt8]) throws {
        var frame = withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init)
        frame += payload
        var offset = 0
        while offset < frame.count {
            let written = frame[offset...].withUnsafeBytes { Foundation.send(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw E2EError("send: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// The next envelope (binary frames are skipped).
    func next() throws -> Envelope {
        while true {
            let header = try self.read(4)
            let length = header.reduce(0) { $0 << 8 | Int($1) }
            let payload = try self.read(length)
            if case .envelope(let envelope) = try InboundFrame.parse(ByteBuffer(bytes: payload)) { return envelope }
        }
    }

    /// Registers with open enrollment as a user and returns the register reply.
    func register(name: String) throws -> ServerResponsePayload {
        try self.send(Envelope(.clientRegister(RegisterPayload(key: nil, hostname: name, capabilities: ["heartbeat"], agentVersion: "e2e-raw/1", kind: .user)), messageID: UUID().uuidString.lowercased()))
        while true {
            if case .serverResponse(let response) = try self.next().body { return response }
        }
    }

    /// Cuts the connection at once: RST instead of FIN (SO_LINGER 0), as a crash or a network fault would.
    func reset() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(self.descriptor, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        shutdown(self.descriptor, Int32(SHUT_RDWR))
    }

    private func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes[offset...].withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, 0) }
            guard got > 0 else { throw E2EError(got == 0 ? "connection closed" : "recv: \(String(cString: strerror(errno)))") }
            offset += got
        }
        return bytes
    }
}
