import Foundation
import GRDB
import Testing
import VigilStore

@Suite("StorageFull: which failures mean no space left")
struct StorageFullTests {
    @Test("SQLITE_FULL, ENOSPC and EDQUOT are full; SQLITE_BUSY, EACCES are not")
    func classification() {
        #expect(StorageFull.isCause(of: DatabaseError(resultCode: .SQLITE_FULL)))
        #expect(StorageFull.isCause(of: POSIXError(.ENOSPC)))
        #expect(StorageFull.isCause(of: POSIXError(.EDQUOT)))
        #expect(StorageFull.isCause(of: CocoaError(.fileWriteOutOfSpace)))
        #expect(!StorageFull.isCause(of: DatabaseError(resultCode: .SQLITE_BUSY)))
        #expect(!StorageFull.isCause(of: POSIXError(.EACCES)))
    }
}
