import SwiftASN1
import X509

extension Certificate {
    /// The certificate's DER encoding (what a fingerprint is taken of).
    public func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }

    /// The DNS names and IP addresses in the subject alternative names (for error messages, and
    /// for the server to compare with the names it should carry).
    public var identityNames: [String] {
        guard let names = try? self.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            switch name {
            case .dnsName(let dns): dns
            case .ipAddress(let octets): IPAddressText.format(Array(octets.bytes))
            default: nil
            }
        }
    }
}
