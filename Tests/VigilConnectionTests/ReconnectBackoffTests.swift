import Testing
import VigilConnection

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test("delays stay between a tenth of the initial delay and a cap that doubles up to the maximum")
    func bounds() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        var rng = SystemRandomNumberGenerator()
        let caps: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)]
        for cap in caps {
            let delay = backoff.next(using: &rng)
            #expect(delay >= .milliseconds(10) && delay <= cap, "delay \(delay) outside 10 ms...\(cap)")
        }
        for _ in 0..<1000 {
            #expect(backoff.next(using: &rng) >= .milliseconds(10), "never below a tenth of the initial delay")
        }
    }

    @Test("the cap reaches the maximum and reset starts again from the initial delay")
    func capAndReset() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(2))
        var high = MaxRandom()
        let delays = (0..<8).map { _ in backoff.next(using: &high) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .seconds(2), .seconds(2), .seconds(2)])
        backoff.reset()
        #expect(backoff.next(using: &high) == .milliseconds(100))
    }

    @Test("many attempts do not overflow")
    func noOverflow() {
        var backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(30))
        var high = MaxRandom()
        for _ in 0..<200 { _ = backoff.next(using: &high) }
        #expect(backoff.next(using: &high) == .seconds(30))
    }
}

/// Always the top of the range.
private struct MaxRandom: RandomNumberGenerator {
    mutating func next() -> UInt64 { .max }
}
