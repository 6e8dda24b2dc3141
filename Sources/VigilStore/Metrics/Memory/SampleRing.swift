/// The last `capacity` samples of one host, oldest overwritten first.
struct SampleRing: Sendable {
    struct Entry: Sendable {
        var ms: Int64
        var names: [String]
        var values: [Double]
    }

    let capacity: Int
    private var storage: [Entry] = []
    private var oldest = 0  // index of the oldest entry once the ring is full

    init(capacity: Int) {
        precondition(capacity > 0, "a ring holds at least one sample")
        self.capacity = capacity
    }

    var count: Int { self.storage.count }

    /// The newest entry's time, or nil when empty.
    var newestMs: Int64? {
        guard !self.storage.isEmpty else { return nil }
        return self.storage[(self.oldest + self.storage.count - 1) % self.storage.count].ms
    }

    mutating func append(_ entry: Entry) {
        if self.storage.count < self.capacity {
            self.storage.append(entry)
        } else {
            self.storage[self.oldest] = entry
            self.oldest = (self.oldest + 1) % self.capacity
        }
    }

    /// Puts an entry older than the newest in its place in time (back-fill). Returns false when an
    /// entry of that millisecond is kept already, or when the ring is full and the entry would be
    /// its oldest (it would be overwritten first anyway).
    mutating func insert(_ entry: Entry) -> Bool {
        var entries: [Entry] = []
        entries.reserveCapacity(self.storage.count + 1)
        self.forEach { entries.append($0) }
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].ms < entry.ms { low = middle + 1 } else { high = middle }
        }
        if low < entries.count, entries[low].ms == entry.ms { return false }
        if entries.count >= self.capacity, low == 0 { return false }
        entries.insert(entry, at: low)
        if entries.count > self.capacity { entries.removeFirst(entries.count - self.capacity) }
        self.storage = entries
        self.oldest = 0
        return true
    }

    /// Calls `body` with each entry, oldest first.
    func forEach(_ body: (Entry) throws -> Void) rethrows {
        for entry in self.storage[self.oldest...] { try body(entry) }
        for entry in self.storage[..<self.oldest] { try body(entry) }
    }
}
