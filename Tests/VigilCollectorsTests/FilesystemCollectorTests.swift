import Foundation
import Testing
import VigilMetrics
@testable import VigilCollectors

@Suite("Filesystem collector")
struct FilesystemCollectorTests {
    /// Sizes for the fixture mounts, as statvfs would give them.
    static let sizes: [String: FilesystemCollector.Usage] = [
        "/": .init(deviceID: 1, blockSize: 4096, blocks: 1000, freeBlocks: 300, availableBlocks: 250),
        "/etc/hosts": .init(deviceID: 1, blockSize: 4096, blocks: 1000, freeBlocks: 300, availableBlocks: 250),
        "/srv/my data": .init(deviceID: 2, blockSize: 512, blocks: 2000, freeBlocks: 2000, availableBlocks: 2000),
        "/dev/shm": .init(deviceID: 3, blockSize: 4096, blocks: 10, freeBlocks: 10, availableBlocks: 10),
        "/run": .init(deviceID: 4, blockSize: 4096, blocks: 100, freeBlocks: 75, availableBlocks: 75),
        "/mnt/empty": .init(deviceID: 5, blockSize: 4096, blocks: 0, freeBlocks: 0, availableBlocks: 0),
    ]

    @Test("pseudo, /dev, /sys, empty and bind mounts are skipped; sizes are df's")
    func fixture() throws {
        var collector = FilesystemCollector(root: Fixtures.root("filesystem")) { Self.sizes[$0] }
        var document = MetricsDocument(timestamp: Date())
        try collector.collect(into: &document, elapsed: nil)
        let partitions = try #require(document.disk?.partitions)
        #expect(partitions.map(\.mountpoint) == ["/", "/srv/my data", "/run"])
        let root = partitions[0]
        #expect(root.device == "/dev/vda" && root.fstype == "ext4")
        #expect(root.total == 4_096_000)
        #expect(root.used == 700 * 4096)
        #expect(root.free == 250 * 4096, "free is what users may use (f_bavail), as df's Available")
        #expect(root.percent == 73.68)  // 700 / (700 + 250)
        #expect(partitions[1].device == "/dev/vdb1", "octal escapes in /proc/mounts are decoded")
        #expect(partitions[1].percent == 0)
        #expect(partitions[2].percent == 25)
    }

    @Test("octal escapes")
    func unescape() {
        #expect(FilesystemCollector.unescape("/a\\040b\\011c\\134d") == "/a b\tc\\d")
        #expect(FilesystemCollector.unescape("plain") == "plain")
    }
}
