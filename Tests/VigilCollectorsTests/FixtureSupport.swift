import Foundation
import VigilCollectors

/// The copies of /proc and /sys files that tests read instead of the live system.
enum Fixtures {
    static func root(_ scenario: String) -> SystemRoot {
        let base = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        return SystemRoot(base.appendingPathComponent(scenario).path)
    }
}
