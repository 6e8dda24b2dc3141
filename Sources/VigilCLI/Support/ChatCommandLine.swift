/// What a line typed into `vigil chat` asks for.
enum ChatCommandLine: Equatable {
    /// `send TEXT`
    case broadcast(String)
    /// `send to NAME TEXT` or `send @NAME TEXT`
    case privateMessage(to: String, String)
    /// `who`
    case who
    /// `bye` or `quit`
    case leave
    /// `help`
    case help
    /// An empty line.
    case nothing
    /// Something we cannot do, with what to say.
    case invalid(String)

    static let helpText = """
    commands:
      send TEXT            send TEXT to everyone
      send to NAME TEXT    send TEXT to NAME only (also: send @NAME TEXT)
      who                  who is online
      bye, quit            leave (Ctrl-D and Ctrl-C too)
      help                 this text
    """

    init(parsing line: String) {
        // Leading and trailing blanks (and a CR from a Windows line end) are not part of the message.
        var trimmed = Substring(line)
        while let last = trimmed.last, last == " " || last == "\t" || last == "\r" || last == "\n" || last == "\r\n" { trimmed.removeLast() }
        let (word, rest) = Self.split(trimmed)
        switch word.lowercased() {
        case "":
            self = .nothing
        case "send", "/send":
            let (first, afterFirst) = Self.split(rest)
            if first.hasPrefix("@") {
                let name = String(first.dropFirst())
                self = name.isEmpty ? .invalid("usage: send @NAME TEXT")
                    : afterFirst.isEmpty ? .invalid("nothing to send to \(name): send @\(name) TEXT") : .privateMessage(to: name, String(afterFirst))
            } else if first == "to" {
                let (name, text) = Self.split(afterFirst)
                self = name.isEmpty ? .invalid("usage: send to NAME TEXT")
                    : text.isEmpty ? .invalid("nothing to send to \(name): send to \(name) TEXT") : .privateMessage(to: String(name), String(text))
            } else if rest.isEmpty {
                self = .invalid("nothing to send: send TEXT, send to NAME TEXT or send @NAME TEXT")
            } else {
                self = .broadcast(String(rest))
            }
        case "who", "/who":
            self = .who
        case "bye", "quit", "exit", "/bye", "/quit":
            self = .leave
        case "help", "/help", "?":
            self = .help
        default:
            self = .invalid("unknown command \"\(word)\"; type help")
        }
    }

    /// The first word and the rest (without the spaces between them); the rest keeps its inner spaces.
    private static func split(_ text: Substring) -> (Substring, Substring) {
        let text = text.drop { $0 == " " || $0 == "\t" }
        guard let space = text.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (text, "") }
        return (text[..<space], text[space...].drop { $0 == " " || $0 == "\t" })
    }
}
