import Foundation
import VigilClient
import VigilProtocol

/// What `vigil chat` does with each typed line and each event of the connection.
struct ChatSession {
    enum Input: Sendable {
        case event(ClientEvent)
        case standardInput(StandardInput.Chunk)
        case signal(Int32)
    }

    let connection: ClientConnection
    var console: ChatConsole
    let server: String
    private var splitter = LineSplitter()
    private var everRegistered = false
    private var connected = false
    /// Disconnections in a row, so an outage prints one line and then a reminder now and then.
    private var failures = 0
    private var leaving = false
    private static let time: DateFormatter = {
        let format = DateFormatter()
        format.dateFormat = "HH:mm:ss"
        return format
    }()

    init(connection: ClientConnection, console: ChatConsole, server: String) {
        self.connection = connection
        self.console = console
        self.server = server
    }

    /// Handles one input; returns how the chat ended once it has.
    mutating func handle(_ input: Input) -> ClientExit? {
        switch input {
        case .event(let event):
            return self.show(event)
        case .standardInput(.bytes(let bytes)):
            if self.console.interactive {
                for action in self.console.editor.feed(bytes) {
                    switch action {
                    case .submit(let line):
                        self.console.line(self.console.prompt + line)
                        self.execute(line)
                    case .interrupt, .endOfInput:
                        self.leave()
                    case .redraw:
                        self.console.redraw()
                    }
                }
            } else {
                for line in self.splitter.feed(bytes) { self.execute(line) }
            }
        case .standardInput(.end):
            if let last = self.splitter.finish() { self.execute(last) }
            self.leave()
        case .signal:
            self.leave()
        }
        return nil
    }

    private mutating func execute(_ line: String) {
        switch ChatCommandLine(parsing: line) {
        case .nothing:
            break
        case .broadcast(let text):
            self.send(text, to: nil)
        case .privateMessage(let name, let text):
            self.send(text, to: name)
        case .who:
            if self.connected {
                self.connection.listClients()
            } else {
                self.console.line("not connected; try again in a moment")
            }
        case .leave:
            self.leave()
        case .help:
            ChatCommandLine.helpText.split(separator: "\n").forEach { self.console.line(String($0)) }
        case .invalid(let problem):
            self.console.line(problem)
        }
    }

    private mutating func send(_ text: String, to recipient: String?) {
        guard !self.leaving else {
            self.console.line("leaving; not sent")
            return
        }
        self.connection.send(text, to: recipient)
        if !self.connected {
            self.console.line(self.everRegistered ? "… not connected: queued, sent once the connection is back" : "… not connected yet: queued, sent once connected")
        }
    }

    private mutating func leave() {
        guard !self.leaving else { return }
        self.leaving = true
        self.connection.leave(reason: "user left", drainTimeout: .seconds(5))
    }

    private mutating func show(_ event: ClientEvent) -> ClientExit? {
        switch event {
        case .registered(let session):
            let renamed = session.clientID == self.connection.settings.name ? "" : " (the key is bound to \(session.clientID))"
            self.console.line(self.everRegistered
                ? "reconnected as \(session.clientID)"
                : "connected to \(self.server) as \(session.clientID)\(renamed); type help for commands")
            self.everRegistered = true
            self.connected = true
            self.failures = 0
        case .disconnected(let reason, let retryIn):
            self.connected = false
            self.failures += 1
            if self.failures == 1 || self.failures % 10 == 0 {
                let retry = retryIn.map { String(format: "; reconnecting in %.1fs", $0.seconds) } ?? ""
                self.console.line("\(self.everRegistered ? "connection lost" : "cannot connect"): \(reason)\(retry)")
            }
        case .message(let message):
            self.console.line(self.format(message))
        case .acknowledged(let message, _):
            self.console.line("✓ \(Self.destination(message.recipient)): \(Self.excerpt(message.content))")
        case .messageRefused(let message, let code, let reason):
            self.console.line("✗ not sent \(Self.destination(message.recipient)): \(reason)\(code.map { " (\($0.rawValue))" } ?? "")")
        case .clientList(let clients):
            let names = clients.map { client in
                client.clientID + (client.clientID == self.connection.settings.name ? " (you)" : client.kind == .agent ? " (host)" : "")
            }
            self.console.line("online (\(clients.count)): " + names.joined(separator: ", "))
        case .fileOffered(let offer, let reason):
            self.console.line("\(offer.sender ?? "someone") offered the file \(offer.filename) (\(offer.size) bytes); refused: \(reason)")
        case .serverResponse(let response):
            self.console.line("server: \(response.message)\(response.code.map { " (\($0.rawValue))" } ?? "")")
        case .stopped(let exit):
            switch exit {
            case .left(let unsent):
                self.console.line(unsent == 0 ? "bye" : "left; \(unsent) message(s) were not confirmed by the server and may not have been delivered")
            case .refused(nil, let message):
                // No code: refused on our side, by TLS (the server's CA is not the pinned one).
                self.console.line("cannot connect: \(message)")
            case .refused(let code, let message):
                self.console.line("the server refused \(self.connection.settings.name): \(message)\(code.map { " (\($0.rawValue))" } ?? "")")
            case .superseded(let message):
                self.console.line("another connection took the name \(self.connection.settings.name): \(message)")
            case .gaveUp(let reason):
                self.console.line("giving up: \(reason)")
            }
            return exit
        }
        return nil
    }

    private func format(_ message: IncomingMessage) -> String {
        let time = Self.time.string(from: message.storedAt.map { Date(timeIntervalSince1970: $0) } ?? Date())
        if message.isNotice {
            return "\(time) ** \(message.sender): \(message.content)"
        }
        if message.isPrivate {
            return "\(time) \(message.sender) → you: \(message.content)"
        }
        return "\(time) \(message.sender): \(message.content)"
    }

    private static func destination(_ recipient: String?) -> String {
        recipient.map { "to \($0)" } ?? "to everyone"
    }

    /// The confirmation repeats the message (its first line, up to 100 characters), so a person can
    /// tell which one was stored.
    private static func excerpt(_ text: String) -> String {
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return line.count > 100 || line.count < text.count ? String(line.prefix(100)) + "…" : line
    }
}
