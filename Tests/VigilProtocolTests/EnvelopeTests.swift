import Foundation
import NIOCore
import Testing
import VigilProtocol

// MARK: Helpers

/// Encodes an envelope as a frame payload and parses it back, failing the test if parsing throws.
private func roundTrip(_ envelope: Envelope) throws -> Envelope {
    let frame = envelope.encodedFrame()
    switch try InboundFrame.parse(frame) {
    case .envelope(let decoded):
        return decoded
    case .fileData(let data):
        throw ProtocolViolation(.unexpectedType, "expected an envelope, got file data \(data)")
    }
}

/// The JSON object an envelope puts on the wire.
private func wireObject(_ envelope: Envelope) throws -> [String: Any] {
    let frame = envelope.encodedFrame()
    let object = try JSONSerialization.jsonObject(with: Data(frame.readableBytesView))
    return try #require(object as? [String: Any])
}

/// Parses raw bytes and returns the violation, or `nil` (with a recorded issue) when parsing succeeded.
private func violation(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> ProtocolViolation? {
    do throws(ProtocolViolation) {
        let frame = try InboundFrame.parse(ByteBuffer(bytes: bytes))
        Issue.record("expected a ProtocolViolation, got \(frame)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

private func violation(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> ProtocolViolation? {
    violation(Array(json.utf8), sourceLocation: sourceLocation)
}

private func parseEnvelope(_ json: String) throws -> Envelope {
    switch try InboundFrame.parse(ByteBuffer(string: json)) {
    case .envelope(let envelope):
        return envelope
    case .fileData(let data):
        throw ProtocolViolation(.unexpectedType, "expected an envelope, got file data \(data)")
    }
}

// MARK: Round trips

@Suite("Envelope round trips")
struct EnvelopeRoundTripTests {
    @Test("CLIENT_REGISTER with every field")
    func clientRegister() throws {
        let payload = RegisterPayload(
            key: "vk_abcdefghijkl_secret", protocolVersion: 1, hostname: "web-01",
            capabilities: ["heartbeat", "files"], agentVersion: "vigil-agent/0.1.0"
        )
        let envelope = Envelope(.clientRegister(payload), senderID: "web-01", timestamp: 1_700_000_000.5, messageID: "5C1A8E6E-0000-4000-8000-000000000001")
        let decoded = try roundTrip(envelope)
        #expect(decoded == envelope)
        #expect(decoded.type == .clientRegister)
        guard case .clientRegister(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.key == "vk_abcdefghijkl_secret")
        #expect(p.protocolVersion == 1)
        #expect(p.hostname == "web-01")
        #expect(p.capabilities == ["heartbeat", "files"])
        #expect(p.agentVersion == "vigil-agent/0.1.0")
        #expect(decoded.senderID == "web-01")
        #expect(decoded.timestamp == 1_700_000_000.5)
        #expect(decoded.messageID == "5C1A8E6E-0000-4000-8000-000000000001")
    }

    @Test("CLIENT_REGISTER with defaults: nil key and agent version, default capabilities and version")
    func clientRegisterDefaults() throws {
        let envelope = Envelope(.clientRegister(RegisterPayload(key: nil, hostname: "db")))
        let decoded = try roundTrip(envelope)
        #expect(decoded == envelope)
        guard case .clientRegister(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.key == nil)
        #expect(p.protocolVersion == ProtocolVersion.current)
        #expect(p.protocolVersion == 1)
        #expect(p.capabilities == ["heartbeat"])
        #expect(p.agentVersion == nil)
        #expect(decoded.senderID == nil)
        #expect(decoded.timestamp == nil)
        #expect(decoded.messageID == nil)
    }

    @Test("SERVER_RESPONSE success with session parameters")
    func serverResponseSuccess() throws {
        let session = SessionParameters(clientID: "web-01", hostname: "web-01", serverID: "0f3c-server", protocolVersion: 1, heartbeatInterval: 2.5, maxFrameSize: 1_048_576)
        let payload = ServerResponsePayload(success: true, message: "registered", inReplyTo: "m-1", session: session)
        let envelope = Envelope(.serverResponse(payload), senderID: "server", timestamp: 1_700_000_001.25, messageID: "m-2")
        let decoded = try roundTrip(envelope)
        #expect(decoded == envelope)
        #expect(decoded.type == .serverResponse)
        guard case .serverResponse(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.success == true)
        #expect(p.message == "registered")
        #expect(p.code == nil)
        #expect(p.inReplyTo == "m-1")
        #expect(p.fatal == false)
        let s = try #require(p.session)
        #expect(s.clientID == "web-01")
        #expect(s.hostname == "web-01")
        #expect(s.serverID == "0f3c-server")
        #expect(s.protocolVersion == 1)
        #expect(s.heartbeatInterval == 2.5)
        #expect(s.maxFrameSize == 1_048_576)
    }

    @Test("SERVER_RESPONSE failure with code and fatal")
    func serverResponseFailure() throws {
        let payload = ServerResponsePayload(success: false, message: "key revoked", code: .revokedKey, inReplyTo: nil, fatal: true)
        let envelope = Envelope(.serverResponse(payload))
        let decoded = try roundTrip(envelope)
        #expect(decoded == envelope)
        guard case .serverResponse(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.success == false)
        #expect(p.message == "key revoked")
        #expect(p.code == .revokedKey)
        #expect(p.inReplyTo == nil)
        #expect(p.fatal == true)
        #expect(p.session == nil)
    }

    @Test("every ErrorCode survives a SERVER_RESPONSE round trip", arguments: ErrorCode.allCases)
    func errorCodes(code: ErrorCode) throws {
        let envelope = Envelope(.serverResponse(ServerResponsePayload(success: false, message: "x", code: code)))
        let decoded = try roundTrip(envelope)
        guard case .serverResponse(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.code == code)
        let payload = try #require(try wireObject(envelope)["payload"] as? [String: Any])
        #expect(payload["code"] as? String == code.rawValue)
    }

    @Test("HEARTBEAT")
    func heartbeat() throws {
        let envelope = Envelope(.heartbeat(HeartbeatPayload(seq: 42)), senderID: "web-01", timestamp: 1_700_000_002.75, messageID: "hb-42")
        let decoded = try roundTrip(envelope)
        #expect(decoded == envelope)
        #expect(decoded.type == .heartbeat)
        guard case .heartbeat(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.seq == 42)
        #expect(decoded.senderID == "web-01")
        #expect(decoded.timestamp == 1_700_000_002.75)
        #expect(decoded.messageID == "hb-42")
    }

    @Test("HEARTBEAT with the largest seq")
    func heartbeatMaxSeq() throws {
        let envelope = Envelope(.heartbeat(HeartbeatPayload(seq: UInt64.max)))
        let decoded = try roundTrip(envelope)
        guard case .heartbeat(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.seq == UInt64.max)
    }

    @Test("HEARTBEAT_ACK")
    func heartbeatAck() throws {
        let envelope = Envelope(.heartbeatAck(HeartbeatAckPayload(seq: 7, serverTime: 1_700_000_003.125)), senderID: "server")
        let decoded = try roundTrip(envelope)
        #expect(decoded == envelope)
        #expect(decoded.type == .heartbeatAck)
        guard case .heartbeatAck(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.seq == 7)
        #expect(p.serverTime == 1_700_000_003.125)
    }

    @Test("CLIENT_UNREGISTER with and without a reason")
    func clientUnregister() throws {
        let withReason = Envelope(.clientUnregister(UnregisterPayload(reason: "SIGTERM")), messageID: "bye")
        let decoded = try roundTrip(withReason)
        #expect(decoded == withReason)
        #expect(decoded.type == .clientUnregister)
        guard case .clientUnregister(let p) = decoded.body else {
            Issue.record("wrong body \(decoded.body)")
            return
        }
        #expect(p.reason == "SIGTERM")
        #expect(decoded.messageID == "bye")

        let without = Envelope(.clientUnregister(UnregisterPayload()))
        let decodedWithout = try roundTrip(without)
        guard case .clientUnregister(let q) = decodedWithout.body else {
            Issue.record("wrong body \(decodedWithout.body)")
            return
        }
        #expect(q.reason == nil)
    }

    @Test("the frame is a JSON object starting with '{' and the decode is independent of the reader index")
    func frameShape() throws {
        var frame = ByteBuffer(string: "garbage")
        frame.moveReaderIndex(forwardBy: 7)
        let envelope = Envelope(.heartbeat(HeartbeatPayload(seq: 1)))
        var encoded = envelope.encodedFrame()
        #expect(encoded.getInteger(at: encoded.readerIndex, as: UInt8.self) == UInt8(ascii: "{"))
        frame.writeBuffer(&encoded)
        switch try InboundFrame.parse(frame) {
        case .envelope(let decoded):
            #expect(decoded == envelope)
        case .fileData:
            Issue.record("a JSON frame parsed as file data")
        }
    }
}

// MARK: Wire format

@Suite("Envelope JSON on the wire")
struct EnvelopeWireFormatTests {
    @Test("envelope keys are snake_case")
    func envelopeKeys() throws {
        let envelope = Envelope(.heartbeat(HeartbeatPayload(seq: 3)), senderID: "web-01", timestamp: 1_700_000_000, messageID: "m-3")
        let object = try wireObject(envelope)
        #expect(Set(object.keys) == ["type", "sender_id", "payload", "timestamp", "message_id"])
        #expect(object["type"] as? String == "HEARTBEAT")
        #expect(object["sender_id"] as? String == "web-01")
        #expect(object["message_id"] as? String == "m-3")
        #expect((object["timestamp"] as? NSNumber)?.doubleValue == 1_700_000_000)
        let payload = try #require(object["payload"] as? [String: Any])
        #expect(Set(payload.keys) == ["seq"])
        #expect((payload["seq"] as? NSNumber)?.intValue == 3)
    }

    @Test("absent optional envelope fields are left out, not null")
    func absentOptionals() throws {
        let object = try wireObject(Envelope(.heartbeat(HeartbeatPayload(seq: 1))))
        #expect(Set(object.keys) == ["type", "payload"])
    }

    @Test("CLIENT_REGISTER payload keys are snake_case")
    func registerKeys() throws {
        let payload = RegisterPayload(key: "k", protocolVersion: 1, hostname: "h", capabilities: ["heartbeat"], agentVersion: "vigil-agent/0.1.0")
        let object = try wireObject(Envelope(.clientRegister(payload)))
        #expect(object["type"] as? String == "CLIENT_REGISTER")
        let p = try #require(object["payload"] as? [String: Any])
        #expect(Set(p.keys) == ["key", "protocol_version", "hostname", "capabilities", "agent_version"])
        #expect((p["protocol_version"] as? NSNumber)?.intValue == 1)
        #expect(p["agent_version"] as? String == "vigil-agent/0.1.0")
        #expect(p["capabilities"] as? [String] == ["heartbeat"])
    }

    @Test("SERVER_RESPONSE payload and session keys are snake_case")
    func serverResponseKeys() throws {
        let session = SessionParameters(clientID: "c", hostname: "h", serverID: "s", protocolVersion: 1, heartbeatInterval: 5, maxFrameSize: 65536)
        let payload = ServerResponsePayload(success: true, message: "ok", code: nil, inReplyTo: "m-9", fatal: false, session: session)
        let object = try wireObject(Envelope(.serverResponse(payload)))
        #expect(object["type"] as? String == "SERVER_RESPONSE")
        let p = try #require(object["payload"] as? [String: Any])
        #expect(Set(p.keys) == ["success", "message", "in_reply_to", "fatal", "session"])
        #expect(p["in_reply_to"] as? String == "m-9")
        let s = try #require(p["session"] as? [String: Any])
        #expect(Set(s.keys) == ["client_id", "hostname", "server_id", "protocol_version", "heartbeat_interval", "max_frame_size"])
        #expect((s["heartbeat_interval"] as? NSNumber)?.doubleValue == 5)
        #expect((s["max_frame_size"] as? NSNumber)?.intValue == 65536)
        #expect(s["client_id"] as? String == "c")
        #expect(s["server_id"] as? String == "s")
    }

    @Test("HEARTBEAT_ACK payload keys are snake_case")
    func heartbeatAckKeys() throws {
        let object = try wireObject(Envelope(.heartbeatAck(HeartbeatAckPayload(seq: 9, serverTime: 12.5))))
        #expect(object["type"] as? String == "HEARTBEAT_ACK")
        let p = try #require(object["payload"] as? [String: Any])
        #expect(Set(p.keys) == ["seq", "server_time"])
        #expect((p["server_time"] as? NSNumber)?.doubleValue == 12.5)
    }

    @Test("CLIENT_UNREGISTER type name on the wire")
    func unregisterType() throws {
        let object = try wireObject(Envelope(.clientUnregister(UnregisterPayload(reason: "SIGTERM"))))
        #expect(object["type"] as? String == "CLIENT_UNREGISTER")
        let p = try #require(object["payload"] as? [String: Any])
        #expect(p["reason"] as? String == "SIGTERM")
    }

    @Test("MessageType raw values are the wire names")
    func messageTypeRawValues() {
        #expect(MessageType.allCases.map(\.rawValue) == ["CLIENT_REGISTER", "SERVER_RESPONSE", "HEARTBEAT", "HEARTBEAT_ACK", "CLIENT_UNREGISTER", "METRICS", "CLIENT_MESSAGE", "MESSAGE_ACK", "LIST_CLIENTS", "CLIENT_LIST", "FILE_OFFER", "FILE_READY", "FILE_REJECT", "FILE_SAVED", "FILE_FAILED", "END", "SESSION_UPDATE"])
    }

    @Test("hand-written snake_case JSON decodes to the right values")
    func decodesHandWrittenJSON() throws {
        let json = """
        {"type":"SERVER_RESPONSE","sender_id":"srv","timestamp":10.5,"message_id":"m-1",
         "payload":{"success":true,"message":"welcome","in_reply_to":"r-1",
           "session":{"client_id":"c1","hostname":"h1","server_id":"s1","protocol_version":1,"heartbeat_interval":2,"max_frame_size":4096}}}
        """
        let envelope = try parseEnvelope(json)
        let expected = Envelope(
            .serverResponse(ServerResponsePayload(
                success: true, message: "welcome", code: nil, inReplyTo: "r-1", fatal: false,
                session: SessionParameters(clientID: "c1", hostname: "h1", serverID: "s1", protocolVersion: 1, heartbeatInterval: 2, maxFrameSize: 4096)
            )),
            senderID: "srv", timestamp: 10.5, messageID: "m-1"
        )
        #expect(envelope == expected)
    }
}

// MARK: Violations

@Suite("InboundFrame.parse violations")
struct InboundFrameViolationTests {
    @Test("an empty frame is emptyFrame")
    func emptyFrame() {
        let v = violation([UInt8]())
        #expect(v?.code == .emptyFrame)
        #expect(v?.detail == "zero-length frame")
    }

    @Test("first byte 0x01 is a file data frame; one shorter than its header is invalid_field")
    func fileDataFrame() throws {
        let v = violation([0x01, 0x02, 0x03])
        #expect(v?.code == .invalidField)
        #expect(v?.detail == "file data frame shorter than its 25-byte header (kind, transfer id, offset)")
        let id = UUID()
        let frame = FileDataFrame(transferID: id, offset: 1 << 40, data: ByteBuffer(bytes: [9, 8, 7]))
        let encoded = frame.encodedFrame()
        #expect(encoded.readableBytes == 28)
        #expect(encoded.getInteger(at: 0, as: UInt8.self) == 0x01)
        #expect(encoded.getInteger(at: 17, endianness: .big, as: UInt64.self) == 1 << 40)
        guard case .fileData(let parsed) = try InboundFrame.parse(encoded) else {
            Issue.record("not parsed as file data")
            return
        }
        #expect(parsed == frame)
        // A header alone is a valid, empty chunk.
        guard case .fileData(let empty) = try InboundFrame.parse(FileDataFrame(transferID: id, offset: 0, data: ByteBuffer()).encodedFrame()) else {
            Issue.record("not parsed as file data")
            return
        }
        #expect(empty.data.readableBytes == 0)
    }

    @Test("first byte 0xFF is unknownBinaryKind, naming the byte")
    func binaryKindFF() {
        let v = violation([0xFF])
        #expect(v?.code == .unknownBinaryKind)
        #expect(v?.detail.contains("0xFF") == true)
        #expect(v?.detail.hasPrefix("frame starts with byte 0xFF,") == true)
    }

    @Test("JSON that does not start with '{' (an array, whitespace) is unknownBinaryKind", arguments: ["[1,2]", " {\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":1}}"])
    func notAnObject(json: String) {
        #expect(violation(json)?.code == .unknownBinaryKind)
    }

    @Test("'{' followed by invalid UTF-8 is invalidUTF8")
    func invalidUTF8() {
        let v = violation([0x7B, 0xFF, 0xFE, 0x7D])
        #expect(v?.code == .invalidUTF8)
        #expect(v?.detail == "JSON frame is not valid UTF-8")
    }

    @Test("an overlong UTF-8 encoding inside a string value is invalidUTF8")
    func overlongUTF8() {
        // {"type":"<C0 AF>"} : 0xC0 0xAF is an overlong '/', invalid UTF-8.
        let bytes = Array("{\"type\":\"".utf8) + [0xC0, 0xAF] + Array("\"}".utf8)
        #expect(violation(bytes)?.code == .invalidUTF8)
    }

    @Test("truncated JSON is invalidJSON")
    func truncatedJSON() {
        let v = violation("{\"type\":")
        #expect(v?.code == .invalidJSON)
        #expect(v?.detail.isEmpty == false)
    }

    @Test("a lone '{' is invalidJSON")
    func loneBrace() {
        #expect(violation("{")?.code == .invalidJSON)
    }

    @Test("missing type is missingField naming type")
    func missingType() {
        let v = violation("{\"payload\":{\"seq\":1}}")
        #expect(v?.code == .missingField)
        #expect(v?.detail == "type: required field is missing")
    }

    @Test("missing payload is missingField naming payload")
    func missingPayload() {
        let v = violation("{\"type\":\"HEARTBEAT\"}")
        #expect(v?.code == .missingField)
        #expect(v?.detail == "payload: required field is missing")
    }

    @Test("CLIENT_REGISTER without payload.hostname is missingField naming payload.hostname")
    func missingHostname() {
        let v = violation("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"key\":null,\"protocol_version\":1}}")
        #expect(v?.code == .missingField)
        #expect(v?.detail.contains("payload.hostname") == true)
        #expect(v?.detail == "payload.hostname: required field is missing")
    }

    @Test("HEARTBEAT without payload.seq is missingField naming payload.seq")
    func missingSeq() {
        let v = violation("{\"type\":\"HEARTBEAT\",\"payload\":{}}")
        #expect(v?.code == .missingField)
        #expect(v?.detail == "payload.seq: required field is missing")
    }

    @Test("protocol_version as a string is invalidField naming payload.protocol_version")
    func protocolVersionString() {
        let v = violation("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"protocol_version\":\"1\",\"hostname\":\"h\"}}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail.contains("payload.protocol_version") == true)
        #expect(v?.detail == "payload.protocol_version: expected an integer")
    }

    @Test("hostname null is invalidField naming payload.hostname")
    func hostnameNull() {
        let v = violation("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"protocol_version\":1,\"hostname\":null}}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail.contains("payload.hostname") == true)
        #expect(v?.detail == "payload.hostname: expected a string, found null")
    }

    @Test("a capabilities element of the wrong type names its index")
    func capabilitiesElement() {
        let v = violation("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"protocol_version\":1,\"hostname\":\"h\",\"capabilities\":[\"heartbeat\",7]}}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail.contains("payload.capabilities[1]") == true)
        #expect(v?.detail == "payload.capabilities[1]: expected a string")
    }

    @Test("type as a number is invalidField naming type")
    func typeNotString() {
        let v = violation("{\"type\":3,\"payload\":{}}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail == "type: expected a string")
    }

    @Test("an explicit protocol_version 0 is refused: version 0 means the field is left out")
    func explicitVersionZero() {
        let v = violation(#"{"type":"CLIENT_REGISTER","payload":{"protocol_version":0,"hostname":"h","key":"vk_x"}}"#)
        #expect(v?.code == .invalidField, "\(String(describing: v))")
        #expect(v?.detail.hasPrefix("payload.protocol_version:") == true, "\(String(describing: v))")
    }

    @Test("a number that does not fit its field is rejected, naming the field", arguments: [
        ("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":-1}}", "payload.seq"),
        ("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":18446744073709551616}}", "payload.seq"),
        ("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"protocol_version\":1.5,\"hostname\":\"h\"}}", "payload.protocol_version"),
        ("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":1},\"timestamp\":1e400}", "timestamp"),
        ("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":1},\"timestamp\":1e300}", "timestamp"),
    ])
    func integerOutOfRange(json: String, field: String) {
        let v = violation(json)
        // Foundation's JSONDecoder reports an unrepresentable number with no coding path; the
        // violation locates it (FieldLocatingDecoder), so the client learns which field.
        #expect(v?.code == .invalidField, "\(String(describing: v))")
        #expect(v?.detail.hasPrefix("\(field):") == true, "\(String(describing: v))")
    }

    @Test("a SERVER_RESPONSE with an error code this build does not know still decodes")
    func unknownErrorCode() throws {
        var buffer = ByteBuffer()
        buffer.writeString(#"{"type":"SERVER_RESPONSE","payload":{"success":false,"message":"later","code":"from_the_future","fatal":true}}"#)
        guard case .envelope(let envelope) = try InboundFrame.parse(buffer), case .serverResponse(let response) = envelope.body else {
            Issue.record("expected a SERVER_RESPONSE")
            return
        }
        #expect(response.code == nil)
        #expect(response.message == "later")
        #expect(response.fatal)
    }

    @Test("seq as a string is invalidField naming payload.seq")
    func seqString() {
        let v = violation("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":\"1\"}}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail == "payload.seq: expected an integer")
    }

    @Test("payload of the wrong JSON type is invalidField naming payload")
    func payloadNotObject() {
        let v = violation("{\"type\":\"CLIENT_REGISTER\",\"payload\":[]}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail == "payload: expected an object")
    }

    @Test("capabilities not an array is invalidField naming payload.capabilities")
    func capabilitiesNotArray() {
        let v = violation("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"protocol_version\":1,\"hostname\":\"h\",\"capabilities\":\"x\"}}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail == "payload.capabilities: expected an array")
    }

    @Test("timestamp as a string is invalidField naming timestamp")
    func timestampString() {
        let v = violation("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":1},\"timestamp\":\"x\"}")
        #expect(v?.code == .invalidField)
        #expect(v?.detail == "timestamp: expected a number")
    }

    @Test("trailing bytes after the JSON object are invalidJSON")
    func trailingGarbage() {
        #expect(violation("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":1}} trailing")?.code == .invalidJSON)
    }

    @Test("an unknown type is unknownType naming it")
    func unknownType() {
        let v = violation("{\"type\":\"FOO\",\"payload\":{}}")
        #expect(v?.code == .unknownType)
        #expect(v?.detail.contains("FOO") == true)
        #expect(v?.detail == "unknown message type \"FOO\"")
    }

    @Test("type names are case-sensitive")
    func lowercaseType() {
        let v = violation("{\"type\":\"heartbeat\",\"payload\":{\"seq\":1}}")
        #expect(v?.code == .unknownType)
        #expect(v?.detail.contains("heartbeat") == true)
    }

    @Test("ProtocolViolation description is code: detail")
    func description() {
        #expect(ProtocolViolation(.missingField, "payload.hostname: required field is missing").description == "missing_field: payload.hostname: required field is missing")
    }
}

// MARK: Lenient decoding

@Suite("Envelope lenient decoding")
struct EnvelopeLenientDecodingTests {
    @Test("a minimal envelope with only type and payload decodes, with nil sender_id, timestamp and message_id")
    func minimalEnvelope() throws {
        let envelope = try parseEnvelope("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":5}}")
        #expect(envelope == Envelope(.heartbeat(HeartbeatPayload(seq: 5))))
        #expect(envelope.senderID == nil)
        #expect(envelope.timestamp == nil)
        #expect(envelope.messageID == nil)
    }

    @Test("a minimal CLIENT_REGISTER defaults capabilities to [] and fatal to false elsewhere")
    func minimalRegister() throws {
        let envelope = try parseEnvelope("{\"type\":\"CLIENT_REGISTER\",\"payload\":{\"protocol_version\":1,\"hostname\":\"web-01\"}}")
        #expect(envelope == Envelope(.clientRegister(RegisterPayload(key: nil, protocolVersion: 1, hostname: "web-01", capabilities: [], agentVersion: nil))))
        let response = try parseEnvelope("{\"type\":\"SERVER_RESPONSE\",\"payload\":{\"success\":false,\"message\":\"no\"}}")
        #expect(response == Envelope(.serverResponse(ServerResponsePayload(success: false, message: "no", code: nil, inReplyTo: nil, fatal: false, session: nil))))
    }

    @Test("unknown extra fields are ignored at the top level and in the payload")
    func unknownFieldsIgnored() throws {
        let json = """
        {"type":"HEARTBEAT","extra":{"nested":[1,2,3]},"sender_id":"a","payload":{"seq":8,"future_field":true},"version":99}
        """
        let envelope = try parseEnvelope(json)
        #expect(envelope == Envelope(.heartbeat(HeartbeatPayload(seq: 8)), senderID: "a"))
    }

    @Test("explicit nulls for optional envelope fields decode as nil")
    func explicitNulls() throws {
        let envelope = try parseEnvelope("{\"type\":\"CLIENT_UNREGISTER\",\"payload\":{\"reason\":null},\"sender_id\":null,\"timestamp\":null,\"message_id\":null}")
        #expect(envelope == Envelope(.clientUnregister(UnregisterPayload(reason: nil))))
    }

    @Test("an integer timestamp decodes as a Double")
    func integerTimestamp() throws {
        let envelope = try parseEnvelope("{\"type\":\"HEARTBEAT\",\"payload\":{\"seq\":1},\"timestamp\":1700000000}")
        #expect(envelope.timestamp == 1_700_000_000)
    }
}
