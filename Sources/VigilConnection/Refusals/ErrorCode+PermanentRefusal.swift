import VigilProtocol

extension ErrorCode {
    /// Refusals that no retry cures: the operator must fix the key, the name, the version or the
    /// connection's security first. Every client (`vigil-agent`, `vigil chat`, `vigil send`,
    /// `vigil send-file`, `vigil-bench`) stops on these instead of reconnecting.
    ///
    /// - `invalid_field` on a register: a field over its limit, or a name that cannot be a client id
    ///   (after registration it is not fatal and never reaches this question).
    /// - `superseded`: another client registered with the same key; reconnecting would knock it off
    ///   in turn, for ever, so this one leaves instead.
    /// - `tls_required`: the server refuses plaintext from this address; without TLS configured,
    ///   every retry meets the same answer.
    public var isPermanentRefusal: Bool {
        switch self {
        case .invalidKey, .revokedKey, .keyRequired, .hostnameBoundToKey, .invalidHostname, .invalidField, .unsupportedVersion,
            .superseded, .tlsRequired:
            true
        default:
            false
        }
    }
}
