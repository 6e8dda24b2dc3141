import Foundation
import Testing
import VigilFuzzing
import VigilProtocol
import VigilServer

/// Every input of the committed fuzz corpus (Fuzz/Corpus/<target>/), run through the same entry
/// points the libFuzzer executables call, in a normal build: an input that once made the code
/// crash (kept in the corpus with its fix) crashes this test if the bug comes back, without a
/// sanitizer build. The fuzz targets' own checks (`precondition`) run here too.
@Suite("Fuzz corpus replay")
struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    /// Runs every file of `target`'s corpus through `body`; returns how many there were.
    static func replay(_ target: String, through body: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        let directory = Self.corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        for name in names {
            let input = try Data(contentsOf: directory.appendingPathComponent(name))
            input.withUnsafeBytes { body($0) }
        }
        return names.count
    }

    @Test("FuzzFrames: every corpus input through the framing")
    func frames() throws {
        #expect(try Self.replay("FuzzFrames", through: FrameFuzzer.run) > 10)
    }

    @Test("FuzzEnvelope: every corpus input through InboundFrame.parse and the payload checks")
    func envelopes() throws {
        #expect(try Self.replay("FuzzEnvelope", through: EnvelopeFuzzer.run) > 10)
    }

    @Test("FuzzMetrics: every corpus input through the metrics document, dates and uptime")
    func metrics() throws {
        #expect(try Self.replay("FuzzMetrics", through: MetricsFuzzer.run) > 10)
    }

    @Test("FuzzHTTPBodies: every corpus input through the HTTP API's request bodies")
    func httpBodies() throws {
        #expect(try Self.replay("FuzzHTTPBodies", through: HTTPRequestBodies.fuzz) > 10)
    }

    @Test("the corpus exercises every HTTP body route and every message type")
    func coverage() throws {
        // A route or message type missing from the seeds would be fuzzed only by luck.
        let http = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent("FuzzHTTPBodies").path)
        let routes = Set(try http.compactMap { name in
            try Data(contentsOf: Self.corpus.appendingPathComponent("FuzzHTTPBodies/\(name)")).first.map { Int($0) % HTTPRequestBodies.Route.allCases.count }
        })
        #expect(routes.count == HTTPRequestBodies.Route.allCases.count)
        let envelopes = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent("FuzzEnvelope").path)
        let text = try envelopes.map { String(decoding: try Data(contentsOf: Self.corpus.appendingPathComponent("FuzzEnvelope/\($0)")), as: UTF8.self) }
        for type in MessageType.allCases {
            #expect(text.contains { $0.contains("\"\(type.rawValue)\"") }, "no corpus input of type \(type.rawValue)")
        }
    }
}
