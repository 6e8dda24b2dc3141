import ArgumentParser
import Foundation
import VigilClient
import VigilProtocol

/// `vigil send-file`: files to the server (or, through it, to another client).
struct SendFileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-file",
        abstract: "Send files to the server, verified (SHA-256) and resumable.",
        discussion: """
        Each file is hashed, offered, sent as binary data frames and verified by the server, which \
        answers with the stored file's id. An interrupted transfer resumes where the server stopped \
        writing: run the same command again (the transfer id is derived from the name you send as, \
        the file's path, size and SHA-256), or let it reconnect by itself. A file the server \
        already has is not sent again.

        Progress: a bar on a terminal, a line every 10 % otherwise (on standard error); results on \
        standard output.

        Exit codes: 0 every file stored; 1 some file was refused or failed; 2 the server could not \
        be reached within --timeout; 77 the server refused the key or the name, \
        or its certificate chain lacks the pinned CA (--token, --ca); 64 bad usage.
        """
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "A client (person or host) the server passes the files on to; without it they stay on the server.")
    var to: String?

    @Option(help: ArgumentHelp("Stop when the server cannot be reached for this many seconds.", valueName: "seconds"))
    var timeout: Double = 300

    @Argument(help: "The files to send.")
    var paths: [String]

    func run() async throws {
        guard !self.paths.isEmpty else { throw ValidationError("no file given") }
        guard self.timeout > 0, self.timeout <= 86_400 else { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        var settings = try await self.client.settings(clientVersion: "vigil-send-file/\(ClientSettings.version)", capabilities: ["heartbeat", "files"])
        settings.giveUpAfter = .milliseconds(Int64(self.timeout * 1000))
        // Only sends: the name's waiting mail stays for its chat, which this does not close.
        settings.sendOnly = true
        let logger = try self.client.logger(label: "vigil-send-file")
        let connection = ClientConnection(settings: settings, logger: logger)
        let paths = self.paths
        let recipient = self.to
        let status = await withTaskGroup(of: Int32?.self, returning: Int32.self) { tasks in
            tasks.addTask {
                _ = await connection.run()
                return nil
            }
            tasks.addTask {
                // Only the connection's own news matters here: lost, back, refused.
                var exit: Int32 = 0
                for await event in connection.events {
                    switch event {
                    case .disconnected(let reason, let retryIn):
                        Output.standardError("connection lost: \(reason)\(retryIn.map { String(format: "; reconnecting in %.1fs", $0.seconds) } ?? "")\n")
                    case .stopped(.refused(nil, let message)):
                        // No code: refused on our side, by TLS (the server's CA is not the pinned one).
                        Output.standardError("vigil send-file: cannot connect: \(message)\n")
                        exit = ClientExitCode.keyRefused
                    case .stopped(.refused(let code, let message)):
                        Output.standardError("vigil send-file: the server refused \(connection.settings.name): \(message)\(code.map { " (\($0.rawValue))" } ?? "")\n")
                        exit = ClientExitCode.keyRefused
                    case .stopped(.gaveUp(let reason)):
                        Output.standardError("vigil send-file: \(reason)\n")
                        exit = ClientExitCode.unreachable
                    case .stopped(.superseded(let reason)):
                        Output.standardError("vigil send-file: \(reason)\n")
                        exit = ClientExitCode.unreachable
                    default:
                        break
                    }
                }
                return exit
            }
            tasks.addTask {
                await Self.sendAll(paths, to: recipient, over: connection)
            }
            var statuses: [Int32] = []
            for await status in tasks {
                if let status { statuses.append(status) }
            }
            // A refused key or an unreachable server outranks the files' own result.
            return statuses.first { $0 == ClientExitCode.keyRefused || $0 == ClientExitCode.unreachable } ?? statuses.max() ?? 0
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Sends each file in turn, then END; leaves; returns 0 or 1 (some file not stored).
    private static func sendAll(_ paths: [String], to recipient: String?, over connection: ClientConnection) async -> Int32 {
        defer { connection.leave(reason: "files sent", drainTimeout: .zero) }
        let sender = FileSender(connection: connection)
        var failed = 0
        var sent = 0
        for path in paths {
            let file: PreparedFile
            do {
                Output.standardError("hashing \(path)…\n")
                file = try await PreparedFile.prepare(path: path, sender: connection.settings.name, recipient: recipient)
            } catch {
                Output.standardOutput("failed \(path): \(error)\n")
                failed += 1
                continue
            }
            let report = TransferReport(file: file, interactive: Output.isTerminal(2))
            let outcome: FileOutcome
            do {
                outcome = try await sender.send(file) { report.handle($0) }
            } catch ClientError.stopped {
                report.clear()
                Output.standardOutput("failed \(file.filename): not sent, the client stopped\n")
                return ClientExitCode.refused
            } catch {
                report.clear()
                Output.standardOutput("failed \(file.filename): \(error)\n")
                failed += 1
                continue
            }
            report.clear()
            switch outcome {
            case .saved(let saved):
                sent += 1
                Output.standardOutput("saved \(saved.filename): file id \(saved.fileID), \(saved.size) bytes, sha256 \(saved.sha256)\n")
            case .alreadyStored(let duplicate):
                sent += 1
                Output.standardOutput("already stored \(file.filename): file id \(duplicate.fileID ?? "?") (\(duplicate.reason))\n")
            case .rejected(let reject):
                failed += 1
                Output.standardOutput("rejected \(file.filename): \(reject.reason)\(reject.code.map { " (\($0.rawValue))" } ?? "")\n")
            case .failed(let failure):
                failed += 1
                Output.standardOutput("failed \(file.filename): \(failure.reason)\(failure.code.map { " (\($0.rawValue))" } ?? "")\n")
            }
        }
        if sent + failed > 0, let answer = try? await connection.end() {
            Output.standardOutput("server: \(answer.message)\n")
        }
        return failed == 0 ? 0 : ClientExitCode.refused
    }
}
