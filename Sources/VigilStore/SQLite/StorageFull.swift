import Foundation
import GRDB

/// The one place that says whether a failed write means "no space left": SQLite's `SQLITE_FULL`
/// (it reports ENOSPC from its own writes so), and ENOSPC or EDQUOT from file writes, however
/// Foundation wraps them.
public enum StorageFull {
    public static func isCause(of error: any Error) -> Bool {
        if let database = error as? DatabaseError {
            return database.resultCode == .SQLITE_FULL
        }
        if let posix = error as? POSIXError {
            return posix.code == .ENOSPC || posix.code == .EDQUOT
        }
        if let cocoa = error as? CocoaError, cocoa.code == .fileWriteOutOfSpace {
            return true
        }
        let bridged = error as NSError
        if bridged.domain == NSPOSIXErrorDomain, bridged.code == Int(ENOSPC) || bridged.code == Int(EDQUOT) {
            return true
        }
        if let underlying = bridged.userInfo[NSUnderlyingErrorKey] as? any Error {
            return Self.isCause(of: underlying)
        }
        return false
    }
}
