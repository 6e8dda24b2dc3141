import Foundation

/// The commands the client sends, each one line ending in CRLF. Arguments come from settings that
/// were checked to hold no CR or LF (``MailAddress``, the hello name), so no command can smuggle another.
public enum SMTPCommand: Sendable, Equatable {
    case ehlo(String)
    case helo(String)
    case startTLS
    /// `AUTH PLAIN <base64(\0user\0password)>` (RFC 4616), the initial response inline.
    case authPlain(username: String, password: String)
    /// `AUTH LOGIN`, then the username and the password each as a base64 line.
    case authLogin
    /// One base64 line answering a 334 challenge (a credential: never shown).
    case authResponse(String)
    case mailFrom(String, eightBitMIME: Bool)
    case rcptTo(String)
    case data
    case reset
    case quit

    /// The line as sent, with its CRLF.
    public var line: String {
        switch self {
        case .ehlo(let name): "EHLO \(name)\r\n"
        case .helo(let name): "HELO \(name)\r\n"
        case .startTLS: "STARTTLS\r\n"
        case .authPlain(let username, let password):
            "AUTH PLAIN \(Data([0] + Array(username.utf8) + [0] + Array(password.utf8)).base64EncodedString())\r\n"
        case .authLogin: "AUTH LOGIN\r\n"
        case .authResponse(let text): "\(Data(text.utf8).base64EncodedString())\r\n"
        case .mailFrom(let address, let eightBit): "MAIL FROM:<\(address)>\(eightBit ? " BODY=8BITMIME" : "")\r\n"
        case .rcptTo(let address): "RCPT TO:<\(address)>\r\n"
        case .data: "DATA\r\n"
        case .reset: "RSET\r\n"
        case .quit: "QUIT\r\n"
        }
    }

    /// What errors and logs say was sent: credentials never appear.
    public var shown: String {
        switch self {
        case .ehlo: "EHLO"
        case .helo: "HELO"
        case .startTLS: "STARTTLS"
        case .authPlain: "AUTH PLAIN"
        case .authLogin: "AUTH LOGIN"
        case .authResponse: "AUTH LOGIN (credentials)"
        case .mailFrom(let address, _): "MAIL FROM:<\(address)>"
        case .rcptTo(let address): "RCPT TO:<\(address)>"
        case .data: "DATA"
        case .reset: "RSET"
        case .quit: "QUIT"
        }
    }
}
