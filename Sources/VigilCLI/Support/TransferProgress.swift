import Foundation

/// The progress of one file being sent, as text: on a terminal one bar redrawn in place (percent,
/// bytes, rate, ETA), at most ten times a second; otherwise a plain line every 10 %.
struct TransferProgress {
    let name: String
    let size: UInt64
    let interactive: Bool
    /// Where this attempt started (non-zero when resuming): the rate counts only what this run sent.
    private var startOffset: UInt64 = 0
    private var started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private var lastDecile = -1
    private(set) var bytes: UInt64 = 0

    init(name: String, size: UInt64, interactive: Bool) {
        self.name = name
        self.size = size
        self.interactive = interactive
    }

    /// A (re)start from `offset`; returns nothing: the caller says "resuming" itself.
    mutating func start(at offset: UInt64, now: ContinuousClock.Instant = .now) {
        self.startOffset = offset
        self.bytes = offset
        self.started = now
        self.lastDrawn = nil
        self.lastDecile = self.size == 0 ? 10 : Int(offset * 10 / self.size)
    }

    /// `bytes` are sent; returns the text to write, if it is time to show something.
    mutating func update(_ bytes: UInt64, now: ContinuousClock.Instant = .now) -> String? {
        self.bytes = bytes
        if self.interactive {
            if let last = self.lastDrawn, now - last < .milliseconds(100), bytes < self.size { return nil }
            self.lastDrawn = now
            return "\r\u{1B}[2K" + self.bar(now: now)
        }
        let decile = self.size == 0 ? 10 : Int(bytes * 10 / self.size)
        guard decile > self.lastDecile else { return nil }
        self.lastDecile = decile
        return self.plainLine(now: now) + "\n"
    }

    /// Clears the bar (terminal) before a result line is printed.
    var clear: String { self.interactive ? "\r\u{1B}[2K" : "" }

    private var percent: Int { self.size == 0 ? 100 : Int(self.bytes * 100 / self.size) }

    /// Bytes per second sent by this attempt.
    private func rate(now: ContinuousClock.Instant) -> Double {
        let elapsed = (now - self.started).seconds
        return elapsed > 0 ? Double(self.bytes - self.startOffset) / elapsed : 0
    }

    private func eta(now: ContinuousClock.Instant) -> String {
        let rate = self.rate(now: now)
        guard rate > 0 else { return "--:--" }
        let remaining = Int((Double(self.size - self.bytes) / rate).rounded(.up))
        return remaining >= 3600
            ? String(format: "%d:%02d:%02d", remaining / 3600, remaining / 60 % 60, remaining % 60)
            : String(format: "%d:%02d", remaining / 60, remaining % 60)
    }

    private func bar(now: ContinuousClock.Instant) -> String {
        let figures = " \(String(format: "%3d", self.percent))% \(Self.bytes(self.bytes))/\(Self.bytes(self.size)) \(Self.bytes(UInt64(self.rate(now: now))))/s ETA \(self.eta(now: now))"
        let columns = Output.columns(2)
        let label = self.name.count > 24 ? String(self.name.prefix(23)) + "…" : self.name
        let width = max(0, columns - label.count - figures.count - 4)
        guard width >= 5 else { return label + figures }
        let filled = self.size == 0 ? width : Int(UInt64(width) * self.bytes / self.size)
        return label + " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]" + figures
    }

    private func plainLine(now: ContinuousClock.Instant) -> String {
        "\(self.name): \(self.percent)% (\(Self.bytes(self.bytes)) of \(Self.bytes(self.size)), \(Self.bytes(UInt64(self.rate(now: now))))/s, ETA \(self.eta(now: now)))"
    }

    /// Bytes for people: 1023 B, 1.5 KiB, 12.3 MiB, 1.0 GiB.
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
