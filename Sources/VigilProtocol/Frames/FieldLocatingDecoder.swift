#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds the field of a number that does not fit its type (`1e300` for an integer, `-1` for an
/// unsigned one, `1e400` for any), which Foundation's `JSONDecoder` on Linux reports without a
/// coding path ("The given data was not valid JSON").
///
/// It wraps the decoder and its containers and turns any error a leaf decode throws that is not a
/// `DecodingError` into `DecodingError.dataCorrupted` at that leaf's path. Used only after a
/// decode has failed, to say where: the wrapping costs a call per field, which the hot path does
/// not pay.
struct FieldLocatingDecoder: Decoder {
    let base: any Decoder

    var codingPath: [any CodingKey] { self.base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { self.base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed(base: try self.base.container(keyedBy: type)))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        Unkeyed(base: try self.base.unkeyedContainer())
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(base: try self.base.singleValueContainer())
    }

    /// Runs one leaf decode, naming `path` when it fails with anything but a `DecodingError`.
    static func leaf<T>(_ path: [any CodingKey], _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "the number does not fit (not an integer, or out of range)", underlyingError: error))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        var base: KeyedDecodingContainer<Key>
        var codingPath: [any CodingKey] { self.base.codingPath }
        var allKeys: [Key] { self.base.allKeys }

        func contains(_ key: Key) -> Bool { self.base.contains(key) }
        func decodeNil(forKey key: Key) throws -> Bool { try self.base.decodeNil(forKey: key) }

        private func leaf<T>(_ key: Key, _ body: () throws -> T) throws -> T {
            try FieldLocatingDecoder.leaf(self.codingPath + [key], body)
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.leaf(key) { try self.base.decode(type, forKey: key) } }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            // Through our own decoder, so the fields inside `T` are located too.
            try T(from: FieldLocatingDecoder(base: try self.base.superDecoder(forKey: key)))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            KeyedDecodingContainer(Keyed<NestedKey>(base: try self.base.nestedContainer(keyedBy: type, forKey: key)))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            Unkeyed(base: try self.base.nestedUnkeyedContainer(forKey: key))
        }

        func superDecoder() throws -> any Decoder { FieldLocatingDecoder(base: try self.base.superDecoder()) }
        func superDecoder(forKey key: Key) throws -> any Decoder { FieldLocatingDecoder(base: try self.base.superDecoder(forKey: key)) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        var base: any UnkeyedDecodingContainer
        var codingPath: [any CodingKey] { self.base.codingPath }
        var count: Int? { self.base.count }
        var isAtEnd: Bool { self.base.isAtEnd }
        var currentIndex: Int { self.base.currentIndex }

        mutating func decodeNil() throws -> Bool { try self.base.decodeNil() }

        private mutating func leaf<T>(_ body: (inout any UnkeyedDecodingContainer) throws -> T) throws -> T {
            let path = self.codingPath + [IndexKey(intValue: self.currentIndex)]
            return try FieldLocatingDecoder.leaf(path) { try body(&self.base) }
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: String.Type) throws -> String { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Double.Type) throws -> Double { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Float.Type) throws -> Float { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Int.Type) throws -> Int { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try self.leaf { try $0.decode(type) } }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try self.leaf { try $0.decode(type) } }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try T(from: FieldLocatingDecoder(base: try self.base.superDecoder()))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            KeyedDecodingContainer(Keyed<NestedKey>(base: try self.base.nestedContainer(keyedBy: type)))
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            Unkeyed(base: try self.base.nestedUnkeyedContainer())
        }

        mutating func superDecoder() throws -> any Decoder { FieldLocatingDecoder(base: try self.base.superDecoder()) }
    }

    struct Single: SingleValueDecodingContainer {
        var base: any SingleValueDecodingContainer
        var codingPath: [any CodingKey] { self.base.codingPath }

        func decodeNil() -> Bool { self.base.decodeNil() }

        private func leaf<T>(_ body: () throws -> T) throws -> T {
            try FieldLocatingDecoder.leaf(self.codingPath, body)
        }

        func decode(_ type: Bool.Type) throws -> Bool { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: String.Type) throws -> String { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Double.Type) throws -> Double { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Float.Type) throws -> Float { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Int.Type) throws -> Int { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Int8.Type) throws -> Int8 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Int16.Type) throws -> Int16 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Int32.Type) throws -> Int32 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: Int64.Type) throws -> Int64 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: UInt.Type) throws -> UInt { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try self.leaf { try self.base.decode(type) } }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try self.leaf { try self.base.decode(type) } }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            // A single value's inner decoder is the same decoder: wrap it again.
            try self.leaf { try self.base.decode(LocatedValue<T>.self).value }
        }
    }

    /// An array index as a coding key, for paths such as `cpu.load_average[2]`.
    struct IndexKey: CodingKey {
        var intValue: Int?
        var stringValue: String { "\(self.intValue ?? 0)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { return nil }
    }
}

/// Decodes `T` through a ``FieldLocatingDecoder``: the entry point, given to `JSONDecoder`.
struct LocatedValue<T: Decodable>: Decodable {
    var value: T

    init(from decoder: any Decoder) throws {
        self.value = try T(from: FieldLocatingDecoder(base: decoder))
    }
}
