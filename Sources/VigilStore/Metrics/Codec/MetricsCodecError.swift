/// Why a stored block or head row could not be decoded.
///
/// Decoders check every length and count against the bytes they were given, so damaged or
/// truncated data surfaces as one of these errors rather than a crash or an unbounded allocation.
public enum MetricsCodecError: Error, Equatable, CustomStringConvertible {
    /// The bytes end before the structure they describe does.
    case truncated(String)
    /// The bytes are inconsistent (lengths that do not add up, impossible counts, trailing bytes).
    case corrupt(String)
    /// The block was written by a newer format this build cannot read.
    case unsupportedVersion(UInt8)

    public var description: String {
        switch self {
        case .truncated(let what): "metrics block truncated: \(what)"
        case .corrupt(let what): "metrics block corrupt: \(what)"
        case .unsupportedVersion(let version): "metrics block format version \(version) is not supported"
        }
    }
}
