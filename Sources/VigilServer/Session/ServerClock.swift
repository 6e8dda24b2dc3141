import Foundation

/// The wall clock as the protocol writes it.
enum ServerClock {
    static var unixNow: Double { Date().timeIntervalSince1970 }
}
