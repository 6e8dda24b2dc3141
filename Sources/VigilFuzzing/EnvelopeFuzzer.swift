#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import VigilMetrics
import VigilProtocol

/// Fuzz target for one frame payload as every receiver reads it: ``InboundFrame/parse(_:)`` (the
/// JSON envelope with the payload of each ``MessageType``, or a binary ``FileDataFrame``), and on a
/// refusal ``Envelope/readableMessageID(in:)``, which the server quotes as `in_reply_to`.
///
/// A frame that parses is also put through the pure checks the server applies next (client
/// names, file names, a metrics document's value ranges and series) and encoded again: what this
/// build writes must be readable by this build.
public enum EnvelopeFuzzer {
    public static func run(_ input: UnsafeRawBufferPointer) {
        let payload = ByteBuffer(bytes: input)
        let frame: InboundFrame
        do {
            frame = try InboundFrame.parse(payload)
        } catch {
            _ = error.description
            _ = Envelope.readableMessageID(in: payload)
            return
        }
        switch frame {
        case .envelope(let envelope):
            Self.exercise(envelope)
        case .fileData(let data):
            precondition(data.encodedFrame() == payload, "a file data frame does not encode back to its bytes")
        }
    }

    private static func exercise(_ envelope: Envelope) {
        _ = envelope.senderID?.logEscaped
        var readable = true
        switch envelope.body {
        case .clientRegister(let register):
            _ = ClientName.violation(register.hostname, field: "payload.hostname")
            // A version-0 register is read (old clients send it) but never written: encoded, its
            // version would be an explicit 0, which the reader rightly refuses.
            readable = register.protocolVersion != ProtocolVersion.legacy
        case .metrics(let document):
            readable = document.rangeViolation() == nil  // a refused document is never stored or re-sent
            _ = document.series()
        case .clientMessage(let message):
            _ = message.recipient.map(ClientName.isValid)
            _ = message.content.logEscaped
        case .fileOffer(let offer):
            _ = try? FileName.validate(offer.filename)
        default:
            break
        }
        guard readable else { return }
        let again = envelope.encodedFrame()
        do {
            let reparsed = try InboundFrame.parse(again)
            guard case .envelope(let decoded) = reparsed, decoded.type == envelope.type else {
                preconditionFailure("a re-encoded \(envelope.type) decodes as something else")
            }
        } catch {
            preconditionFailure("a re-encoded \(envelope.type) does not decode: \(error)")
        }
    }
}
