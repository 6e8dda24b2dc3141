#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Puts a terminal in raw mode (no echo, no line buffering, no signals from Ctrl-C) and restores
/// it. ``restore()`` is idempotent and safe from any thread, so every exit path (normal, error,
/// a signal handler) can call it.
final class RawTerminal: Sendable {
    let descriptor: Int32
    private let saved: Mutex<termios?>

    /// `nil` when `descriptor` is not a terminal, or its mode cannot be read or set.
    init?(descriptor: Int32 = 0) {
        guard isatty(descriptor) == 1 else { return nil }
        var original = termios()
        guard tcgetattr(descriptor, &original) == 0 else { return nil }
        var raw = original
        // Input: no CR→NL translation (Enter arrives as CR), no XON/XOFF, no parity stripping.
        raw.c_iflag &= ~tcflag_t(ICRNL | IXON | ISTRIP | INPCK | BRKINT)
        // Local: no echo, byte at a time, Ctrl-C and Ctrl-Z arrive as bytes, no Ctrl-V.
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        // Output processing stays on: "\n" still moves to the start of the next line.
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(descriptor, TCSAFLUSH, &raw) == 0 else { return nil }
        self.descriptor = descriptor
        self.saved = Mutex(original)
    }

    /// Puts the terminal back as it was (once; later calls do nothing).
    func restore() {
        guard var original = self.saved.withLock({ state -> termios? in
            defer { state = nil }
            return state
        }) else { return }
        _ = tcsetattr(self.descriptor, TCSAFLUSH, &original)
    }

    deinit {
        self.restore()
    }
}
