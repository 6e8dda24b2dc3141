/// The last N message ids received, to drop a message the server delivers again (delivery is at
/// least once: after a reconnect, or a server crash before it saved our acknowledgement).
///
/// Memory is bounded: the oldest id is forgotten when a new one would pass the capacity.
struct RecentMessageIDs {
    private var order: [String?]
    private var members: Set<String> = []
    private var next = 0

    init(capacity: Int) {
        self.order = Array(repeating: nil, count: max(1, capacity))
    }

    /// Records `id`; returns `false` when it was already there (a redelivery).
    mutating func insert(_ id: String) -> Bool {
        guard !self.members.contains(id) else { return false }
        if let evicted = self.order[self.next] { self.members.remove(evicted) }
        self.order[self.next] = id
        self.members.insert(id)
        self.next = (self.next + 1) % self.order.count
        return true
    }

    var count: Int { self.members.count }
}
