import ArgumentParser
import Dispatch
import Foundation
import Logging
import VigilClient
import VigilProtocol

/// `vigil chat`: an interactive client for people.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with the other clients of a server (people and hosts).",
        discussion: """
        Commands: `send TEXT` (everyone), `send to NAME TEXT` or `send @NAME TEXT` (NAME only), \
        `who`, `bye` or `quit` (also Ctrl-D, Ctrl-C), `help`.

        Messages are stored by the server before they are confirmed (✓); a recipient that is away \
        gets them, in order, when it comes back. The chat reconnects by itself and sends again what \
        the server had not confirmed (the server stores each message once).

        On a terminal the line being typed is kept intact while messages arrive. When standard \
        input is not a terminal, lines are read and printed plainly, and the end of input leaves.

        Exit codes: 0 left; 1 another connection took the name; 2 the server could not be reached \
        (only with --give-up-after); 77 the server refused the key or the name, \
        or its certificate chain lacks the pinned CA (--token, --ca); 64 bad usage.
        """
    )

    @OptionGroup var client: ClientOptions

    @Flag(help: "Do not receive the server's notices (a host DOWN, RECOVERED, …).")
    var noNotices = false

    @Option(help: ArgumentHelp("Stop when the server cannot be reached for this many seconds (default: keep trying).", valueName: "seconds"))
    var giveUpAfter: Double?

    func run() async throws {
        var settings = try await self.client.settings(
            clientVersion: "vigil-chat/\(ClientSettings.version)",
            capabilities: self.noNotices ? ["heartbeat"] : ["heartbeat", RegisterPayload.noticesCapability]
        )
        if let seconds = self.giveUpAfter {
            guard seconds > 0, seconds <= 86_400 else { throw ValidationError("--give-up-after must be between 0 and 86400 seconds") }
            settings.giveUpAfter = .milliseconds(Int64(seconds * 1000))
        }
        let logger = try self.client.logger(label: "vigil-chat")
        let connection = ClientConnection(settings: settings, logger: logger)
        // Raw mode only when both ends are a terminal: a person is typing and reading.
        let terminal = Output.isTerminal(1) ? RawTerminal(descriptor: 0) : nil
        defer { terminal?.restore() }

        let (inputs, sink) = AsyncStream<ChatSession.Input>.makeStream()
        let signals = [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                // A second signal while leaving: put the terminal back and go now.
                if case .terminated = sink.yield(.signal(number)) {
                    terminal?.restore()
                    Foundation.exit(128 + number)
                }
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        var session = ChatSession(connection: connection, console: ChatConsole(interactive: terminal != nil, prompt: "\(settings.name)> "), server: "\(settings.host):\(settings.port)")
        let exit = await withTaskGroup(of: Void.self, returning: ClientExit.self) { tasks in
            tasks.addTask { _ = await connection.run() }
            tasks.addTask {
                for await event in connection.events { sink.yield(.event(event)) }
            }
            StandardInput.start { chunk in sink.yield(.standardInput(chunk)) }
            session.console.redraw()
            var exit = ClientExit.left(unsent: 0)
            for await input in inputs {
                if let done = session.handle(input) {
                    exit = done
                    break
                }
            }
            sink.finish()
            await tasks.waitForAll()
            return exit
        }
        session.console.finish()
        terminal?.restore()
        switch exit {
        case .left: return
        case .refused: throw ExitCode(ClientExitCode.keyRefused)
        case .superseded: throw ExitCode(1)
        case .gaveUp: throw ExitCode(ClientExitCode.unreachable)
        }
    }
}
