import Testing
@testable import VigilServer

/// `ServerSettings.validate()`: combinations of settings that cannot work are refused at start.
@Suite("Server settings validation")
struct ServerSettingsValidationTests {
    @Test("the defaults are valid")
    func defaults() throws {
        try ServerSettings().validate()
    }

    @Test("messages.max_content_bytes must fit a delivery frame: content × 6 + 4096 <= agents.max_frame_size")
    func contentFitsFrame() throws {
        var settings = ServerSettings()
        settings.maxFrameSize = 64 << 10
        settings.messageMaxContentBytes = (settings.maxFrameSize - 4096) / 6
        settings.fileChunkSize = 16 << 10
        try settings.validate()
        settings.messageMaxContentBytes += 1
        let error = #expect(throws: ConfigurationError.self) { try settings.validate() }
        #expect(error?.description.contains("messages.max_content_bytes") == true)
        settings.messageMaxContentBytes = Int.max / 2
        #expect(throws: ConfigurationError.self) { try settings.validate() }
    }
}
