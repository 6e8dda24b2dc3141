/// One column value of a stored row, as `vigil migrate` carries it from one backend to the other:
/// the few kinds both schemas use (SQLite's storage classes; PostgreSQL's `text`, `double
/// precision`, `bigint`, `bytea` and `boolean`).
package enum StoreValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case boolean(Bool)
}
