/// The identity of an alert: the same rule, host and series always give the same fingerprint, on
/// every server and across restarts (FNV-1a 64 over the three, hex), so notifications and
/// Alertmanager deduplicate by it.
public enum AlertFingerprint {
    public static func of(rule: String, hostname: String, series: String?) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func feed(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            hash ^= 0xff  // a separator no UTF-8 byte sequence of a name ends with
            hash = hash &* 0x0000_0100_0000_01b3
        }
        feed(rule)
        feed(hostname)
        feed(series ?? "")
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
