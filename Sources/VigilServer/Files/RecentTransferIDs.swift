import Foundation

/// The last few transfers that ended on a connection. Data frames the sender had already sent for
/// them when they failed are dropped quietly instead of counted as protocol errors.
struct RecentTransferIDs {
    private var order: [UUID] = []
    private var members: Set<UUID> = []
    let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    func contains(_ id: UUID) -> Bool { self.members.contains(id) }

    mutating func insert(_ id: UUID) {
        guard self.members.insert(id).inserted else { return }
        self.order.append(id)
        if self.order.count > self.capacity {
            self.members.remove(self.order.removeFirst())
        }
    }

    mutating func remove(_ id: UUID) {
        guard self.members.remove(id) != nil else { return }
        self.order.removeAll { $0 == id }
    }
}
