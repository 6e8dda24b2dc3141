import Foundation
import Logging
import NIOCore
import Testing
@testable import VigilServer
import VigilStore

/// The one classification of "disk full" and the condition the services share (issue 12, defect 7).
@Suite("StorageCondition: full-disk classification and recovery")
struct StorageConditionTests {
    @Test("ENOSPC and EDQUOT from SwiftNIO and Foundation (however wrapped) are full; other failures are not")
    func classification() {
        #expect(StorageCondition.isStorageFull(POSIXError(.ENOSPC)))
        #expect(StorageCondition.isStorageFull(POSIXError(.EDQUOT)))
        #expect(StorageCondition.isStorageFull(IOError(errnoCode: ENOSPC, reason: "write")))
        #expect(StorageCondition.isStorageFull(CocoaError(.fileWriteOutOfSpace)))
        #expect(StorageCondition.isStorageFull(NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))])))
        #expect(!StorageCondition.isStorageFull(POSIXError(.EACCES)))
        #expect(!StorageCondition.isStorageFull(CancellationError()))
    }

    @Test("disk.* keys are read from the environment with their defaults, and too short intervals are refused")
    func settings() async throws {
        let defaults = try await ServerSettings.load(environment: [:])
        #expect(defaults.diskMinFreeBytes == 8 << 20)
        #expect(defaults.diskCheckInterval == .seconds(5))
        #expect(defaults.diskFullLogInterval == .seconds(60))
        let set = try await ServerSettings.load(environment: [
            "VIGIL_DISK_MIN_FREE_BYTES": "1MiB", "VIGIL_DISK_CHECK_INTERVAL": "2s", "VIGIL_DISK_FULL_LOG_INTERVAL": "30s",
        ])
        #expect(set.diskMinFreeBytes == 1 << 20)
        #expect(set.diskCheckInterval == .seconds(2))
        #expect(set.diskFullLogInterval == .seconds(30))
        await #expect(throws: ConfigurationError.self) { try await ServerSettings.load(environment: ["VIGIL_DISK_CHECK_INTERVAL": "1ms"]) }
    }

    @Test("a failed write makes the disk full until a check finds room; below disk.min_free_bytes it is full by itself")
    func fullAndRecovered() throws {
        var settings = ServerSettings()
        settings.diskMinFreeBytes = 1
        let directory = FileManager.default.temporaryDirectory.path
        let condition = StorageCondition(directory: directory, settings: settings, logger: Logger(label: "test"))
        #expect(!condition.isFull)
        #expect(!condition.report(POSIXError(.EACCES), writing: "x"))
        #expect(!condition.isFull)
        #expect(condition.report(POSIXError(.ENOSPC), writing: "a session"))
        #expect(condition.isFull)
        #expect(condition.snapshot.state == "full")
        #expect(condition.snapshot.refusedWrites == 1)
        condition.check()  // the temporary directory has more than 1 byte free
        #expect(!condition.isFull)
        #expect(condition.snapshot.state == "ok")

        settings.diskMinFreeBytes = .max
        let strict = StorageCondition(directory: directory, settings: settings, logger: Logger(label: "test"))
        strict.check()
        #expect(strict.isFull)
        #expect(strict.snapshot.detail?.contains("disk.min_free_bytes") == true)
    }
}
