import Foundation
import Testing
@testable import VigilStore

@Suite("Metrics block codec")
struct MetricsCodecTests {
    /// Encodes and decodes a block, checking every column bit for bit.
    @discardableResult
    func roundTrip(timestamps: [Int64], names: [String], columns: [[Double]], sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let block = MetricsBlock(timestamps: timestamps, columnNames: names, columns: columns)
        let bytes = block.encoded()
        let decoded = try MetricsBlock(decoding: bytes)
        #expect(decoded.timestamps == timestamps, sourceLocation: sourceLocation)
        #expect(decoded.columnNames == names, sourceLocation: sourceLocation)
        #expect(decoded.columns.count == columns.count, sourceLocation: sourceLocation)
        for (got, want) in zip(decoded.columns, columns) {
            #expect(bitsEqual(got, want), sourceLocation: sourceLocation)
        }
        return bytes
    }

    /// The encoding chosen for each column of an encoded block.
    func encodings(_ bytes: [UInt8]) throws -> [ColumnEncoding] {
        try bytes.withUnsafeBytes { (buffer) throws in
            let reader = try MetricsBlockReader(buffer)
            return (0..<reader.columnCount).map(reader.encoding(ofColumn:))
        }
    }

    func regularTimestamps(_ count: Int, start: Int64 = 1_704_067_200_000, step: Int64 = 5000) -> [Int64] {
        (0..<count).map { start + Int64($0) * step }
    }

    @Test("random bit patterns of every kind round-trip exactly", arguments: [1, 2, 3, 17, 120, 1000])
    func randomRoundTrip(rows: Int) throws {
        var random = SeededGenerator(seed: UInt64(rows))
        var timestamp = Int64.random(in: -1_000_000_000_000...2_000_000_000_000, using: &random)
        let timestamps = (0..<rows).map { _ in
            timestamp += Int64.random(in: 1...100_000, using: &random)
            return timestamp
        }
        let columns: [[Double]] = [
            (0..<rows).map { _ in Double(bitPattern: random.next()) },  // any bit pattern, NaN payloads included
            (0..<rows).map { _ in Double.random(in: -1e6...1e6, using: &random) },
            (0..<rows).map { _ in Double(Int.random(in: -5...5, using: &random)) },
            (0..<rows).map { _ in (Double.random(in: 0...100, using: &random) * 100).rounded() / 100 },
        ]
        try self.roundTrip(timestamps: timestamps, names: ["bits", "uniform", "small.ints", "percent"], columns: columns)
    }

    @Test("a constant column is decimal and costs a few bytes for the whole block")
    func constants() throws {
        let rows = 120
        let bytes = try self.roundTrip(timestamps: self.regularTimestamps(rows), names: ["memory.total", "zero", "cores"],
                                       columns: [Array(repeating: 16_777_216_000, count: rows), Array(repeating: 0, count: rows), Array(repeating: 8, count: rows)])
        // A constant is a run of zero deltas: first-order deltas say it in one byte less than second-order.
        #expect(try self.encodings(bytes) == [.decimalDelta(scale: 0), .decimalDelta(scale: 0), .decimalDelta(scale: 0)])
        try bytes.withUnsafeBytes { (buffer) throws in
            let reader = try MetricsBlockReader(buffer)
            #expect(try reader.values(ofColumn: 0) == Array(repeating: 16_777_216_000, count: rows))
        }
        // Header and names included, three 120-row columns fit in well under a byte per value.
        #expect(bytes.count < 80)
    }

    @Test("regular 5 s timestamps cost less than a byte a row; jittered ones about a byte")
    func timestampCost() throws {
        var writer = ByteWriter()
        IntegerDeltaCodec.encode(self.regularTimestamps(120), order: 2, into: &writer)
        #expect(writer.count <= 12)

        var random = SeededGenerator(seed: 7)
        var jittered = ByteWriter()
        let times = (0..<120).map { 1_704_067_200_000 + Int64($0) * 5000 + Int64.random(in: -20...20, using: &random) }
        IntegerDeltaCodec.encode(times, order: 2, into: &jittered)
        #expect(jittered.count <= 130)
        try jittered.bytes.withUnsafeBytes { (buffer) throws in
            var reader = ByteReader(buffer)
            #expect(try IntegerDeltaCodec.decode(count: times.count, order: 2, from: &reader) == times)
            #expect(reader.isAtEnd)
        }
    }

    @Test("monotonic byte counters with a jittered rate are decimal integers at about a byte a value")
    func counters() throws {
        var random = SeededGenerator(seed: 3)
        var counter = 123_456_789_012.0
        let values = (0..<120).map { _ in
            counter += Double(Int.random(in: 9_000...11_000, using: &random))
            return counter
        }
        let bytes = try self.roundTrip(timestamps: self.regularTimestamps(120), names: ["net.eth0.rx_bytes"], columns: [values])
        let encoding = try #require(try self.encodings(bytes).first)
        #expect(encoding == .decimalDeltaOfDelta(scale: 0) || encoding == .decimalDelta(scale: 0))
        #expect(bytes.count < 120 * 3)
        #expect(GorillaCodec.encode(values).count > bytes.count)
    }

    @Test("percentages rounded to hundredths are decimal with k = 2")
    func percentages() throws {
        var random = SeededGenerator(seed: 4)
        let values = (0..<120).map { _ in (Double.random(in: 0...100, using: &random) * 100).rounded() / 100 }
        let bytes = try self.roundTrip(timestamps: self.regularTimestamps(120), names: ["cpu.percent"], columns: [values])
        let encoding = try #require(try self.encodings(bytes).first)
        #expect(encoding == .decimalDelta(scale: 2) || encoding == .decimalDeltaOfDelta(scale: 2))
        // Uniformly random percentages are the worst case (deltas up to ±10000): still under 3 bytes a value.
        #expect(bytes.count < 120 * 3)
        #expect(GorillaCodec.encode(values).count > bytes.count)
    }

    @Test("decimal scale is the smallest k that is exact for every value")
    func decimalScale() {
        #expect(DecimalScale.scale(of: [1, 2, 3]) == 0)
        #expect(DecimalScale.scale(of: [1.5, 2]) == 1)
        #expect(DecimalScale.scale(of: [0.29, 12.34, 0.1]) == 2)
        #expect(DecimalScale.scale(of: [0.0001]) == 4)
        #expect(DecimalScale.scale(of: [0.00001]) == nil)
        #expect(DecimalScale.scale(of: [1.0 / 3.0]) == nil)
        #expect(DecimalScale.scale(of: [9_007_199_254_740_992]) == nil)  // 2^53: not below the limit
        #expect(DecimalScale.scale(of: [9_007_199_254_740_991]) == 0)
        #expect(DecimalScale.scale(of: [-0.0]) == nil)  // would come back as +0.0
        #expect(DecimalScale.scale(of: [1, .nan]) == nil)
        #expect(DecimalScale.scale(of: [.infinity]) == nil)
        #expect(DecimalScale.scale(of: []) == 0)
    }

    @Test("NaN, infinities and negative zero force Gorilla and round-trip bit for bit")
    func specialValues() throws {
        let payloadNaN = Double(bitPattern: 0x7FF8_0000_0000_1234)
        let columns: [[Double]] = [
            [1, .nan, 3, 4],
            [.infinity, -.infinity, 0, 1],
            [-0.0, 0.0, -0.0, 5],
            [payloadNaN, payloadNaN, -.nan, .signalingNaN],
        ]
        let bytes = try self.roundTrip(timestamps: self.regularTimestamps(4), names: ["a", "b", "c", "d"], columns: columns)
        #expect(try self.encodings(bytes) == [.gorilla, .gorilla, .gorilla, .gorilla])
    }

    @Test("a single row, no rows, and no columns round-trip")
    func edgeShapes() throws {
        try self.roundTrip(timestamps: [1_704_067_200_123], names: ["x", "y"], columns: [[42.5], [.nan]])
        try self.roundTrip(timestamps: [], names: ["x"], columns: [[]])
        try self.roundTrip(timestamps: [], names: [], columns: [])
        try self.roundTrip(timestamps: [1, 2, 3], names: [], columns: [])
        try self.roundTrip(timestamps: [Int64.min + 1, 0, Int64.max], names: ["v"], columns: [[1, 2, 3]])
    }

    @Test("names are front-coded and round-trip, Unicode and empty names included")
    func names() throws {
        let names = ["disk.partitions[/].percent", "disk.partitions[/].used", "disk.partitions[/boot].percent",
                     "", "net.ünïcødé😀.rx", "net.ünïcødé😀.tx", "x"]
        let bytes = try self.roundTrip(timestamps: [1], names: names, columns: names.map { _ in [1] })
        try bytes.withUnsafeBytes { (buffer) throws in
            let reader = try MetricsBlockReader(buffer)
            let found = try reader.columnIndices(of: [Array("net.ünïcødé😀.tx".utf8), Array("missing".utf8), Array("".utf8)])
            #expect(found == [5, nil, 3])
        }
        // Front coding: the names take less than they would whole.
        #expect(bytes.count < names.reduce(0) { $0 + $1.utf8.count })
    }

    @Test("one column decodes without touching the others")
    func oneColumn() throws {
        let timestamps = self.regularTimestamps(50)
        let wanted = (0..<50).map { Double($0) * 0.25 }
        var bytes = MetricsBlock(timestamps: timestamps, columnNames: ["a", "wanted", "c"],
                                 columns: [(0..<50).map { Double($0) / 3 }, wanted, (0..<50).map { sin(Double($0)) }]).encoded()
        // Wreck the streams of columns a and c: "wanted" must still decode.
        let damaged = try bytes.withUnsafeBytes { (buffer) throws in
            let reader = try MetricsBlockReader(buffer)
            #expect(try reader.columnIndices(of: [Array("wanted".utf8)]) == [1])
            return [reader.streamRanges[0], reader.streamRanges[2]]
        }
        for range in damaged {
            #expect(range.count > 8)
            for index in range { bytes[index] = 0xFF }
        }
        try bytes.withUnsafeBytes { (buffer) throws in
            let reader = try MetricsBlockReader(buffer)
            #expect(try reader.timestamps() == timestamps)
            #expect(try reader.values(ofColumn: 1) == wanted)
            #expect(throws: MetricsCodecError.self) { try reader.values(ofColumn: 0) }
            #expect(throws: MetricsCodecError.self) { try reader.values(ofColumn: 2) }
        }
    }

    /// A block with every encoding, for the damage tests.
    func sampleBlock() -> [UInt8] {
        var random = SeededGenerator(seed: 11)
        var counter = 1000.0
        return MetricsBlock(
            timestamps: self.regularTimestamps(40),
            columnNames: ["counter", "percent", "float", "constant"],
            columns: [
                (0..<40).map { _ in counter += Double(Int.random(in: 0...500, using: &random)); return counter },
                (0..<40).map { _ in (Double.random(in: 0...100, using: &random) * 100).rounded() / 100 },
                (0..<40).map { _ in Double.random(in: 0...1, using: &random) },
                Array(repeating: 7, count: 40),
            ]
        ).encoded()
    }

    /// Decodes everything a query could ask for.
    func decodeEverything(_ bytes: [UInt8]) throws {
        _ = try MetricsBlock(decoding: bytes)
        try bytes.withUnsafeBytes { (buffer) throws in
            let reader = try MetricsBlockReader(buffer)
            _ = try reader.columnIndices(of: [Array("float".utf8)])
        }
    }

    @Test("every truncation of a block throws a codec error")
    func truncated() throws {
        let bytes = self.sampleBlock()
        try self.decodeEverything(bytes)
        for length in 0..<bytes.count {
            #expect(throws: MetricsCodecError.self, "prefix of \(length) bytes") { try self.decodeEverything(Array(bytes[..<length])) }
        }
    }

    @Test("damaged headers throw clear errors")
    func damagedHeaders() throws {
        let bytes = self.sampleBlock()
        var version = bytes
        version[0] = 9
        #expect(throws: MetricsCodecError.unsupportedVersion(9)) { try self.decodeEverything(version) }
        #expect(throws: MetricsCodecError.self) { try self.decodeEverything(bytes + [0]) }
        // A huge row count must be refused before any allocation.
        var writer = ByteWriter()
        writer.write(byte: MetricsBlock.formatVersion)
        writer.write(varint: UInt64(1) << 40)
        #expect(throws: MetricsCodecError.self) { try self.decodeEverything(writer.bytes) }
        // A claimed row count the streams cannot hold.
        var rows = ByteWriter()
        rows.write(byte: MetricsBlock.formatVersion)
        rows.write(varint: 60_000)
        rows.write(varint: 1)
        rows.write(varint: 2)
        rows.write(bytes: [0, 1])
        rows.write(varint: 1)
        rows.write(byte: ColumnEncoding.gorilla.byte)
        rows.write(varint: 8)
        rows.write(bytes: [0])
        rows.write(bytes: [UInt8](repeating: 0, count: 8))
        #expect(throws: MetricsCodecError.self) { try self.decodeEverything(rows.bytes) }
        // An unknown column encoding.
        #expect(throws: MetricsCodecError.self) { try ColumnEncoding(byte: 0x35) }
        #expect(throws: MetricsCodecError.self) { try ColumnEncoding(byte: 0x17) }
    }

    @Test("random damage never crashes the decoder")
    func randomDamage() {
        let bytes = self.sampleBlock()
        var random = SeededGenerator(seed: 99)
        var failures = 0
        for _ in 0..<3000 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            do { try self.decodeEverything(damaged) } catch is MetricsCodecError { failures += 1 } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        // Most damage is detected (lengths that no longer add up, trailing or missing bits).
        #expect(failures > 1000)
    }

    @Test("bit fields of every width round-trip")
    func bits() throws {
        var random = SeededGenerator(seed: 5)
        let fields = (0..<2000).map { _ -> (UInt64, Int) in
            let width = Int.random(in: 0...64, using: &random)
            let value = width == 64 ? random.next() : random.next() & ((1 << UInt64(width)) - 1)
            return (value, width)
        }
        var writer = BitWriter()
        for (value, width) in fields { writer.write(value, bits: width) }
        let bytes = writer.finished()
        #expect(bytes.count == (fields.reduce(0) { $0 + $1.1 } + 7) / 8)
        try bytes.withUnsafeBytes { (buffer) throws in
            var reader = BitReader(buffer, range: 0..<buffer.count)
            for (value, width) in fields {
                #expect(try reader.read(bits: width) == value)
            }
            #expect(try reader.isAtPaddedEnd())
            var exhausted = reader
            #expect(throws: MetricsCodecError.self) { try exhausted.read(bits: 9) }
        }
    }

    @Test("integer delta codecs round-trip extremes in both orders")
    func integerExtremes() throws {
        let sequences: [[Int64]] = [
            [Int64.min, Int64.max, Int64.min, 0, 0, 0, 0, -1, 1],
            [5, 5, 5, 5, 5],
            [0, 10, 20, 30, 40, 41, 42, 43, 100],
            [7],
        ]
        for values in sequences {
            for order in [1, 2] {
                var writer = ByteWriter()
                IntegerDeltaCodec.encode(values, order: order, into: &writer)
                try writer.bytes.withUnsafeBytes { (buffer) throws in
                    var reader = ByteReader(buffer)
                    #expect(try IntegerDeltaCodec.decode(count: values.count, order: order, from: &reader) == values)
                    #expect(reader.isAtEnd)
                }
            }
        }
        // A run longer than the rows left is refused.
        var writer = ByteWriter()
        writer.write(zigzag: 1)
        writer.write(byte: 0)
        writer.write(varint: 10)
        try writer.bytes.withUnsafeBytes { (buffer) throws in
            var reader = ByteReader(buffer)
            #expect(throws: MetricsCodecError.self) { try IntegerDeltaCodec.decode(count: 5, order: 1, from: &reader) }
        }
    }
}
