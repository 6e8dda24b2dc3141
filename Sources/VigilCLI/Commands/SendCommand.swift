import ArgumentParser
import Foundation
import VigilClient
import VigilProtocol

/// `vigil send`: one message, for scripts.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one message and wait until the server has stored it (for scripts).",
        discussion: """
        Registers, sends, waits for the server's acknowledgement (the message is stored and will be \
        delivered, also to a recipient that is away now), unregisters. Without TEXT, the message is \
        read from standard input.

        Exit codes: 0 stored; 1 the server refused the message (unknown recipient, too long, …); \
        2 the server could not be reached or did not answer within --timeout; 77 the server refused \
        the key or the name, or its certificate chain lacks the pinned CA (--token, --ca); 64 bad usage.
        """
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "The recipient's name (a person or a host); without it the message goes to everyone.")
    var to: String?

    @Option(help: ArgumentHelp("Seconds to wait for the server to store the message.", valueName: "seconds"))
    var timeout: Double = 10

    @Argument(help: "The message (words are joined with spaces).")
    var text: [String] = []

    func run() async throws {
        guard self.timeout > 0, self.timeout <= 86_400 else { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        let content = self.text.isEmpty ? Self.readStandardInput() : self.text.joined(separator: " ")
        guard !content.isEmpty else { throw ValidationError("nothing to send: give TEXT or pipe it in") }
        let timeout = Duration.milliseconds(Int64(self.timeout * 1000))
        var settings = try await self.client.settings(clientVersion: "vigil-send/\(ClientSettings.version)", capabilities: ["heartbeat"])
        settings.giveUpAfter = timeout
        // Only sends: the name's waiting mail stays for its chat, which this does not close.
        settings.sendOnly = true
        let logger = try self.client.logger(label: "vigil-send")
        let connection = ClientConnection(settings: settings, logger: logger)
        let recipient = self.to
        let seconds = self.timeout
        let status = await withTaskGroup(of: Int32?.self, returning: Int32.self) { tasks in
            tasks.addTask {
                _ = await connection.run()
                return nil
            }
            tasks.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : -1
            }
            tasks.addTask {
                await Self.deliver(content, to: recipient, over: connection)
            }
            var status: Int32 = 0
            while let next = await tasks.next() {
                guard let next else { continue }
                if next == -1 {
                    Output.standardError("vigil send: timed out after \(seconds)s waiting for the server to store the message\n")
                    status = ClientExitCode.unreachable
                    connection.leave(reason: "timed out", drainTimeout: .zero)
                } else {
                    status = next
                }
                break
            }
            // The deliverer leaves once it has its answer; the timer must not hold the exit.
            tasks.cancelAll()
            await tasks.waitForAll()
            return status
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Sends and follows the events to the answer; returns the exit status.
    private static func deliver(_ content: String, to recipient: String?, over connection: ClientConnection) async -> Int32 {
        let message = connection.send(content, to: recipient)
        var status: Int32?
        var reported = false
        for await event in connection.events {
            switch event {
            case .acknowledged(let acknowledged, _) where acknowledged.messageID == message.messageID:
                Output.standardOutput("stored message \(message.messageID) \(recipient.map { "for \($0)" } ?? "for everyone")\n")
                status = 0
                connection.leave(reason: "message sent", drainTimeout: .zero)
            case .messageRefused(let refused, let code, let reason) where refused.messageID == message.messageID:
                Output.standardError("vigil send: the server refused the message: \(reason)\(code.map { " (\($0.rawValue))" } ?? "")\n")
                status = ClientExitCode.refused
                connection.leave(reason: "message refused", drainTimeout: .zero)
            case .stopped(let exit):
                switch exit {
                case .left:
                    return status ?? ClientExitCode.unreachable
                case .refused(nil, let reason):
                    // No code: refused on our side, by TLS (the server's CA is not the pinned one).
                    Output.standardError("vigil send: cannot connect: \(reason)\n")
                    return ClientExitCode.keyRefused
                case .refused(let code, let reason):
                    Output.standardError("vigil send: the server refused \(connection.settings.name): \(reason)\(code.map { " (\($0.rawValue))" } ?? "")\n")
                    return ClientExitCode.keyRefused
                case .superseded(let reason):
                    Output.standardError("vigil send: \(reason)\n")
                    return status ?? ClientExitCode.unreachable
                case .gaveUp(let reason):
                    Output.standardError("vigil send: \(reason)\n")
                    return ClientExitCode.unreachable
                }
            case .disconnected(let reason, _):
                // Once is enough: the retries go on quietly until --timeout.
                if status == nil, !reported {
                    reported = true
                    Output.standardError("vigil send: \(reason); retrying\n")
                }
            default:
                break
            }
        }
        return status ?? ClientExitCode.unreachable
    }

    private static func readStandardInput() -> String {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
