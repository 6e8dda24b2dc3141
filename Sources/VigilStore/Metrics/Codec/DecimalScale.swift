/// Finds whether a column is "decimal": every value is an integer divided by 10^k for one k in
/// 0...4, so it can be stored as scaled integers.
///
/// Counters (k = 0) and percentages rounded to hundredths (k = 2) are the common cases; as
/// integers their deltas are small and often repeat, which the delta codec turns into a byte or
/// less per row. The test is exact: a value qualifies only if dividing the stored integer by 10^k
/// gives back the same bit pattern, so -0.0, NaN and infinities never qualify.
enum DecimalScale {
    static let maximumScale = 4
    static let powers: [Double] = [1, 10, 100, 1_000, 10_000]
    /// Integers up to 2^53 are exact in a Double.
    static let limit: Double = 9_007_199_254_740_992

    /// The smallest k for which every value is decimal, or nil.
    static func scale(of values: [Double]) -> Int? {
        var k = 0
        for value in values {
            while !self.isExact(value, scale: k) {
                k += 1
                if k > self.maximumScale { return nil }
            }
        }
        // A value exact at a smaller k is almost always exact at a larger one, but not provably:
        // check the whole column at the chosen k.
        while k <= self.maximumScale {
            if values.allSatisfy({ self.isExact($0, scale: k) }) { return k }
            k += 1
        }
        return nil
    }

    @inline(__always)
    static func isExact(_ value: Double, scale k: Int) -> Bool {
        let scaled = (value * self.powers[k]).rounded()
        guard Swift.abs(scaled) < self.limit else { return false }  // also false for NaN
        return (Double(Int64(scaled)) / self.powers[k]).bitPattern == value.bitPattern
    }

    /// The scaled integers of a column `scale(of:)` accepted.
    static func integers(of values: [Double], scale k: Int) -> [Int64] {
        values.map { Int64(($0 * self.powers[k]).rounded()) }
    }

    static func doubles(of integers: [Int64], scale k: Int) -> [Double] {
        let power = self.powers[k]
        return integers.map { Double($0) / power }
    }
}
