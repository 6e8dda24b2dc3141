/// The input line of an interactive chat in raw terminal mode: printable text, Backspace, Ctrl-U
/// (erase the line), Ctrl-W (erase a word), Ctrl-C and Ctrl-D (leave), Ctrl-L (redraw), Enter.
/// Escape sequences (arrow keys, …) are swallowed rather than inserted as garbage.
///
/// It only edits text; ``ChatConsole`` draws it.
struct LineEditor {
    enum Action: Equatable {
        /// Enter: the line typed (the editor is empty again).
        case submit(String)
        /// Ctrl-C.
        case interrupt
        /// Ctrl-D on an empty line.
        case endOfInput
        /// The line changed (or Ctrl-L): draw it again.
        case redraw
    }

    private(set) var text = ""
    /// Bytes of a UTF-8 character not complete yet.
    private var pending: [UInt8] = []
    private enum Escape { case none, started, csi }
    private var escape = Escape.none
    /// The longest line kept, in characters; more typing is ignored.
    let maxCharacters: Int

    init(maxCharacters: Int = 16 << 10) {
        self.maxCharacters = maxCharacters
    }

    /// Feeds bytes read from the terminal; returns what happened, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Action] {
        var actions: [Action] = []
        var changed = false
        for byte in bytes {
            switch self.escape {
            case .started:
                // ESC [ starts a control sequence; ESC O a function key (one more byte); anything else ends it.
                self.escape = byte == UInt8(ascii: "[") || byte == UInt8(ascii: "O") ? .csi : .none
                continue
            case .csi:
                if (0x40...0x7E).contains(byte) { self.escape = .none }
                continue
            case .none:
                break
            }
            switch byte {
            case 0x1B:
                self.escape = .started
            case 0x0D, 0x0A:
                changed = false  // the submitted line is drawn by whoever takes it
                actions.append(.submit(self.text))
                self.text = ""
                self.pending = []
            case 0x03:
                actions.append(.interrupt)
            case 0x04:
                if self.text.isEmpty { actions.append(.endOfInput) }
            case 0x7F, 0x08:
                if !self.text.isEmpty {
                    self.text.removeLast()
                    changed = true
                }
            case 0x15:
                self.text = ""
                changed = true
            case 0x17:
                // Ctrl-W: the spaces before the cursor, then the word.
                while self.text.last == " " { self.text.removeLast() }
                while let last = self.text.last, last != " " { self.text.removeLast() }
                changed = true
            case 0x0C:
                actions.append(.redraw)
            case 0x09:
                self.insert(" ")
                changed = true
            case 0x00..<0x20:
                continue  // other control characters: ignored
            default:
                self.pending.append(byte)
                if let character = self.decodePending() {
                    self.insert(character)
                    changed = true
                }
            }
        }
        if changed { actions.append(.redraw) }
        return actions
    }

    private mutating func insert(_ character: Character) {
        guard self.text.count < self.maxCharacters else { return }
        self.text.append(character)
    }

    /// The character in `pending` once its UTF-8 bytes are all there; invalid bytes are dropped.
    private mutating func decodePending() -> Character? {
        guard let first = self.pending.first else { return nil }
        let expected: Int
        switch first {
        case 0x00..<0x80: expected = 1
        case 0xC2..<0xE0: expected = 2
        case 0xE0..<0xF0: expected = 3
        case 0xF0..<0xF5: expected = 4
        default:
            self.pending = []
            return nil
        }
        guard self.pending.count >= expected else { return nil }
        defer { self.pending = [] }
        guard let decoded = String(validating: self.pending, as: UTF8.self), let character = decoded.first else { return nil }
        return character
    }
}
