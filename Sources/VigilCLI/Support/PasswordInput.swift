import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a password without it ever being on the command line: from standard input (one line), or
/// typed at the terminal with echo off.
enum PasswordInput {
    /// The first line of standard input, without its line ending.
    static func fromStandardInput() -> String? {
        guard let line = readLine(strippingNewline: true) else { return nil }
        return line.hasSuffix("\r") ? String(line.dropLast()) : line
    }

    /// Whether standard input is a terminal (a person can be asked).
    static var isInteractive: Bool { isatty(0) == 1 }

    /// Asks on the terminal with echo off (twice when `confirm`); `nil` when the two differ.
    static func prompt(_ text: String, confirm: Bool) -> String? {
        guard let first = self.readHidden(text) else { return nil }
        if confirm {
            guard let second = self.readHidden("Again: "), second == first else { return nil }
        }
        return first
    }

    private static func readHidden(_ text: String) -> String? {
        FileHandle.standardError.write(Data(text.utf8))
        var original = termios()
        let haveTerminal = tcgetattr(0, &original) == 0
        if haveTerminal {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            silent.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(0, TCSAFLUSH, &silent)
        }
        defer { if haveTerminal { tcsetattr(0, TCSAFLUSH, &original) } }
        return readLine(strippingNewline: true)
    }
}
