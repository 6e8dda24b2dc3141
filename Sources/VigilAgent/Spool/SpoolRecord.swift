/// One sample in the spool, and its on-disk form.
///
/// A segment file starts with ``SpoolRecord/fileMagic``; then records follow back to back:
///
/// ```
/// u32 LE  body length (bytes after the checksum)
/// u32 LE  CRC-32 of the body
/// body:   u64 LE record id (increasing across segments)
///         i64 LE sample time, Unix milliseconds (for `spool.max_age` without parsing the JSON)
///         the sample's metrics document as JSON (what the `METRICS` payload carries)
/// ```
///
/// A record is written with one `write` and synced before the next is taken, so a crash tears at
/// most the last record: a length beyond the end of the file, or a checksum that does not match,
/// marks the torn tail, which reopening truncates away.
struct SpoolRecord: Sendable, Equatable {
    var id: UInt64
    var timestampMs: Int64
    /// The metrics document, JSON.
    var payload: [UInt8]

    static let fileMagic: [UInt8] = Array("VGSPOOL1".utf8)
    /// Length and checksum.
    static let headerBytes = 8
    /// Id and time.
    static let bodyPrefixBytes = 16
    /// A record claiming more than this is damage, not a sample (a frame is at most 16 MiB).
    static let maximumBodyBytes = 32 << 20

    /// The bytes written to the segment.
    func encoded() -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(Self.bodyPrefixBytes + self.payload.count)
        Self.append(self.id, to: &body)
        Self.append(UInt64(bitPattern: self.timestampMs), to: &body)
        body.append(contentsOf: self.payload)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerBytes + body.count)
        Self.append(UInt32(body.count), to: &bytes)
        Self.append(CRC32.checksum(body), to: &bytes)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// What ``decode(_:at:)`` found at an offset.
    enum Scan: Equatable {
        /// A whole record and the offset just past it.
        case record(SpoolRecord, end: Int)
        /// Nothing more: the offset is the end of the bytes.
        case end
        /// A partial or damaged record starts here: the bytes from here on are not to be trusted.
        case torn(String)
    }

    /// Reads the record starting at `offset` of a segment's bytes.
    static func decode(_ bytes: [UInt8], at offset: Int) -> Scan {
        guard offset < bytes.count else { return .end }
        guard bytes.count - offset >= Self.headerBytes else { return .torn("a partial record header") }
        let length = Int(Self.uint32(bytes, offset))
        let checksum = Self.uint32(bytes, offset + 4)
        guard length >= Self.bodyPrefixBytes, length <= Self.maximumBodyBytes else { return .torn("a record length of \(length)") }
        let start = offset + Self.headerBytes
        guard bytes.count - start >= length else { return .torn("a record cut short (\(bytes.count - start) of \(length) bytes)") }
        let body = bytes[start..<(start + length)]
        guard CRC32.checksum(body) == checksum else { return .torn("a record whose checksum does not match") }
        let id = Self.uint64(bytes, start)
        let time = Int64(bitPattern: Self.uint64(bytes, start + 8))
        let record = SpoolRecord(id: id, timestampMs: time, payload: Array(bytes[(start + Self.bodyPrefixBytes)..<(start + length)]))
        return .record(record, end: start + length)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    private static func uint64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}
