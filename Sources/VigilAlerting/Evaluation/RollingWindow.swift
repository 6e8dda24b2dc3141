/// A series' samples within a rule's window, with its average, minimum and maximum kept up to date
/// as samples arrive and age out: O(1) amortised per sample, whatever the window's length.
///
/// The minimum and maximum use monotonic queues (each sample enters and leaves each queue once);
/// the average a running sum, recomputed from the samples whenever the window empties so rounding
/// cannot build up.
public struct RollingWindow: Sendable {
    /// Samples older than `newest - length` leave the window.
    public let length: Int64
    private var samples = Ring<Sample>()
    private var minima = Ring<Sample>()
    private var maxima = Ring<Sample>()
    private var sum: Double = 0

    struct Sample: Sendable {
        var time: Int64
        var value: Double
    }

    /// - Parameter milliseconds: The window's length; 0 keeps only the newest sample.
    public init(milliseconds: Int64) {
        self.length = max(0, milliseconds)
    }

    public var count: Int { self.samples.count }
    public var isEmpty: Bool { self.samples.isEmpty }

    /// Adds a sample taken at `time` (milliseconds, not before the previous one) and drops those
    /// that left the window.
    public mutating func add(_ value: Double, at time: Int64) {
        self.samples.append(Sample(time: time, value: value))
        self.sum += value
        while let last = self.minima.last, last.value >= value { self.minima.removeLast() }
        self.minima.append(Sample(time: time, value: value))
        while let last = self.maxima.last, last.value <= value { self.maxima.removeLast() }
        self.maxima.append(Sample(time: time, value: value))
        self.expire(before: time - self.length)
    }

    /// Drops samples taken before `time`.
    public mutating func expire(before time: Int64) {
        while let first = self.samples.first, first.time < time {
            self.samples.removeFirst()
            self.sum -= first.value
        }
        while let first = self.minima.first, first.time < time { self.minima.removeFirst() }
        while let first = self.maxima.first, first.time < time { self.maxima.removeFirst() }
        if self.samples.isEmpty { self.sum = 0 }
    }

    /// The window reduced as the rule says; nil when it holds no sample.
    public func value(_ aggregation: Aggregation) -> Double? {
        guard !self.samples.isEmpty else { return nil }
        switch aggregation {
        case .avg: return self.sum / Double(self.samples.count)
        case .min: return self.minima.first?.value
        case .max: return self.maxima.first?.value
        case .last: return self.samples.last?.value
        }
    }
}

/// A first-in first-out queue that also pops from the back, on one array with a moving head
/// (compacted when the dead prefix is half the storage), for the window's small queues.
struct Ring<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { self.storage.count - self.head }
    var isEmpty: Bool { self.head == self.storage.count }
    var first: Element? { self.isEmpty ? nil : self.storage[self.head] }
    var last: Element? { self.isEmpty ? nil : self.storage[self.storage.count - 1] }

    mutating func append(_ element: Element) { self.storage.append(element) }

    mutating func removeFirst() {
        self.head += 1
        if self.head == self.storage.count {
            self.storage.removeAll(keepingCapacity: true)
            self.head = 0
        } else if self.head >= 16, self.head * 2 >= self.storage.count {
            self.storage.removeFirst(self.head)
            self.head = 0
        }
    }

    mutating func removeLast() {
        self.storage.removeLast()
        if self.head == self.storage.count {
            self.storage.removeAll(keepingCapacity: true)
            self.head = 0
        }
    }
}
