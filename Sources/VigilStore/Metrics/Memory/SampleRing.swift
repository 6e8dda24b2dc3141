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

    /// Calls `body` with each entry, oldest first.
    func forEach(_ body: (Entry) throws -> Void) rethrows {
        for entry in self.storage[self.oldest...] { try body(entry) }
        for entry in self.storage[..<self.oldest] { try body(entry) }
    }
}
