import Foundation
import NIOCore
import PostgresNIO

/// Reading rows by column name, and the store's conventions for times and bytes.
extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    /// A `double precision` Unix-seconds column.
    func date(_ column: String) throws -> Date {
        Date(timeIntervalSince1970: try self[column].decode(Double.self))
    }

    /// A nullable `double precision` Unix-seconds column.
    func optionalDate(_ column: String) throws -> Date? {
        try self[column].decode(Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    /// A `bytea` column.
    func bytes(_ column: String) throws -> [UInt8] {
        var buffer = try self[column].decode(ByteBuffer.self)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

extension PostgresRowSequence {
    /// Every row, for mapping by column name.
    func rows() async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in self { rows.append(row.makeRandomAccess()) }
        return rows
    }
}

extension Array where Element == UInt8 {
    /// As a `bytea` bind.
    var byteBuffer: ByteBuffer { ByteBuffer(bytes: self) }
}
