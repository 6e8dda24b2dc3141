import VigilProtocol

/// Why receiving or sending a file failed or was refused.
///
/// `code` and `reason` are what a receiver puts in `FILE_REJECT` or `FILE_FAILED`; the reason names
/// the file operation and the system's error, never a secret.
public struct TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `invalid_offer`, `invalid_name`, `size_mismatch`, `checksum_mismatch`, `io_error`, `bad_offset`.
    public var code: ErrorCode
    /// For people.
    public var reason: String

    public init(_ code: ErrorCode, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(self.code.rawValue): \(self.reason)" }

    /// An I/O error from the system: what was being done, on which path, and `strerror(errno)`.
    static func io(_ operation: String, _ path: String, errno code: CInt) -> TransferError {
        TransferError(.ioError, "\(operation) \(path): \(POSIX.describe(errno: code))")
    }

    /// Any error from a thread pool job, as a transfer error (a pool that is shutting down says so).
    static func wrapping(_ error: any Error) -> TransferError {
        if let error = error as? TransferError { return error }
        return TransferError(.ioError, "file work could not run: \(error)")
    }
}
