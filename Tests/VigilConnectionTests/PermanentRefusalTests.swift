import Testing
import VigilConnection
import VigilProtocol

@Suite("Permanent refusals")
struct PermanentRefusalTests {
    @Test("the codes no retry cures, and only those, are permanent")
    func permanentCodes() {
        let permanent: Set<ErrorCode> = [.invalidKey, .revokedKey, .keyRequired, .hostnameBoundToKey, .invalidHostname, .invalidField,
                                         .unsupportedVersion, .superseded, .tlsRequired]
        for code in ErrorCode.allCases {
            #expect(code.isPermanentRefusal == permanent.contains(code), "\(code.rawValue)")
        }
    }

    @Test("tls_required is a protocol code")
    func tlsRequired() {
        #expect(ErrorCode(rawValue: "tls_required") == .tlsRequired)
    }
}
