/// The chat's screen. On a terminal, lines from the server are printed above the line being typed,
/// which is then drawn again (prompt and partial input), so nothing typed is garbled; otherwise
/// lines are printed plainly, one per line (for pipes and scripts).
///
/// Used from the chat's one loop only.
struct ChatConsole {
    let interactive: Bool
    var prompt: String
    var editor = LineEditor()

    init(interactive: Bool, prompt: String) {
        self.interactive = interactive
        self.prompt = prompt
    }

    /// Prints one line (text from peers is made safe first), keeping the input line intact.
    func line(_ text: String) {
        guard self.interactive else {
            Output.standardOutput(Self.safe(text) + "\n")
            return
        }
        // Carriage return, erase the line, the text, then the prompt and what was typed so far.
        Output.standardOutput("\r\u{1B}[2K" + Self.safe(text) + "\n" + self.inputLine)
    }

    /// Draws the prompt and the input again (after an edit, Ctrl-L, or a resize).
    func redraw() {
        guard self.interactive else { return }
        Output.standardOutput("\r\u{1B}[2K" + self.inputLine)
    }

    /// Moves past the input line before the program ends.
    func finish() {
        guard self.interactive else { return }
        Output.standardOutput("\r\u{1B}[2K")
    }

    /// The prompt and the end of the input that fits the terminal's width.
    private var inputLine: String {
        let width = max(10, Output.columns(1) - self.prompt.count - 1)
        let text = Self.safe(self.editor.text)
        return self.prompt + (text.count > width ? "…" + text.suffix(width - 1) : text)
    }

    /// Text from the network with control characters made harmless: a message must not be able to
    /// move the cursor, change colours or retitle the terminal. A newline continues on an indented line.
    static func safe(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A:
                result.append(contentsOf: "\n    ".unicodeScalars)
            case 0x09:
                result.append(" ")
            case 0x00..<0x20, 0x7F, 0x80...0x9F,
                 // Bidirectional overrides, embeddings and isolates: text from someone else must not
                 // be able to reorder what the terminal shows after it (a spoofed name or command).
                 0x202A...0x202E, 0x2066...0x2069:
                result.append("\u{FFFD}")
            default:
                result.append(scalar)
            }
        }
        return String(result)
    }
}
