import Foundation
import Testing
import VigilProtocol

/// Messaging with the real binaries: `vigil send` for scripts, `vigil chat` driven through pipes,
/// and a raw framed client that drops its connection on purpose.
@Suite("Messaging end to end", .serialized)
struct MessagingEndToEndTests {
    @Test("private and broadcast messages between vigil send and vigil chat; who; an unknown recipient")
    func privateAndBroadcast() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let alice = try ChatProcess(server, name: "alice")
        defer { alice.stop() }
        try await alice.waitFor("connected to \(server.address) as alice")

        // bob's first message makes bob known; alice gets it privately.
        let sent = try await server.vigil(["send", "--name", "bob", "--to", "alice", "hi", "alice,", "it's", "bob"])
        #expect(sent.status == 0, "vigil send: \(sent.output)")
        #expect(sent.output.contains("stored message"))
        try await alice.waitFor("bob → you: hi alice, it's bob")

        // A broadcast from a script reaches the chat; one from the chat reaches bob's mailbox.
        let broadcast = try await server.vigil(["send", "--name", "carol", "hello everyone"])
        #expect(broadcast.status == 0, "vigil send: \(broadcast.output)")
        try await alice.waitFor("carol: hello everyone")
        alice.type("send to bob psst, bob")
        alice.type("send @carol and you, carol")
        alice.type("send good morning all")
        try await alice.waitFor("✓ to bob: psst, bob")
        try await alice.waitFor("✓ to carol: and you, carol")
        try await alice.waitFor("✓ to everyone: good morning all")

        // bob comes back with a chat: his private message and alice's broadcast, in order.
        let bob = try ChatProcess(server, name: "bob")
        defer { bob.stop() }
        try await bob.waitFor("alice: good morning all")
        let lines = bob.lines
        let privateLine = try #require(lines.firstIndex { $0.contains("alice → you: psst, bob") })
        let broadcastLine = try #require(lines.firstIndex { $0.contains("alice: good morning all") })
        #expect(privateLine < broadcastLine, "per-sender order is kept")
        #expect(!bob.output.contains("and you, carol"), "a private message goes to its recipient only")

        alice.type("who")
        let who = try await alice.waitFor("online (")
        #expect(who.contains("alice (you)") && who.contains("bob"))

        alice.type("send @nobody-at-all are you there?")
        let refused = try await alice.waitFor("✗ not sent to nobody-at-all")
        #expect(refused.contains("unknown_recipient"))
        // (vigil send is send-only: it could also run as bob without disturbing his chat; see sendDoesNotTakeMail.)
        let unknown = try await server.vigil(["send", "--name", "carol", "--to", "nobody-at-all", "hello?"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("unknown_recipient"), "vigil send: \(unknown.output)")

        alice.type("bye")
        #expect(try await alice.finish() == 0)
        #expect(alice.output.contains("bye"))
        #expect(try await bob.finish() == 0, "the end of standard input leaves: \(bob.output)")
    }

    @Test("an offline recipient gets its messages on return, in order, once")
    func offlineRecipient() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let first = try ChatProcess(server, name: "dora")
        try await first.waitFor("connected to")
        first.type("quit")
        #expect(try await first.finish() == 0)

        for number in 1...5 {
            let sent = try await server.vigil(["send", "--name", "erin", "--to", "dora", "note \(number) of 5"])
            #expect(sent.status == 0, "vigil send: \(sent.output)")
        }
        let back = try ChatProcess(server, name: "dora")
        defer { back.stop() }
        try await back.waitFor("erin → you: note 5 of 5")
        try await Task.sleep(for: .milliseconds(500))
        let notes = back.lines.filter { $0.contains("erin → you: note") }
        #expect(notes.count == 5, "\(back.output)")
        #expect(notes.map { $0.components(separatedBy: "erin → you: ").last ?? "" } == (1...5).map { "note \($0) of 5" })
        #expect(try await back.finish() == 0)

        // Acknowledged: a third session gets nothing again.
        let again = try ChatProcess(server, name: "dora")
        defer { again.stop() }
        try await again.waitFor("connected to")
        try await Task.sleep(for: .seconds(1))
        #expect(again.count("note ") == 0, "\(again.output)")
        #expect(try await again.finish() == 0)
    }

    @Test("a message resent after a forced disconnect is stored and delivered once")
    func resendAfterDisconnect() async throws {
        let server = try await ToolServer.start(plaintextFromLoopback: true)  // the raw socket below speaks plaintext
        defer { server.stop() }
        let alice = try ChatProcess(server, name: "frank")
        defer { alice.stop() }
        try await alice.waitFor("connected to")

        let messageID = UUID().uuidString.lowercased()
        let message = Envelope(.clientMessage(ClientMessagePayload(content: "only once, please", recipient: "frank", seq: 1)), messageID: messageID)
        do {
            let raw = try FramedSocket(port: server.agentPort)
            #expect(try raw.register(name: "gina").success)
            try raw.send(message)
            raw.reset()  // cut before reading the MESSAGE_ACK
        }
        let again = try FramedSocket(port: server.agentPort)
        #expect(try again.register(name: "gina").success)
        try again.send(message)
        var ack: MessageAckPayload?
        while ack == nil {
            if case .messageAck(let payload) = try again.next().body { ack = payload }
        }
        #expect(ack?.ackedMessageID == messageID)
        // The first copy was stored before the cut (stored before acked), so the resend is a duplicate;
        // had the cut come first, it would be stored now. Either way: delivered once.
        #expect(ack?.status == MessageAckPayload.duplicate || ack?.status == MessageAckPayload.stored)
        try await alice.waitFor("gina → you: only once, please")
        try await Task.sleep(for: .seconds(1))
        #expect(alice.count("only once, please") == 1, "\(alice.output)")
        #expect(try await alice.finish() == 0)
    }

    @Test("vigil send as a chat user neither takes the user's waiting mail nor closes the user's chat")
    func sendDoesNotTakeMail() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let chat = try ChatProcess(server, name: "rosa")
        defer { chat.stop() }
        try await chat.waitFor("connected to")
        #expect(try await server.vigil(["send", "--name", "sam", "--to", "rosa", "while you chat"]).status == 0)
        try await chat.waitFor("sam → you: while you chat")
        // A script as rosa while her chat runs: the chat is not superseded and still gets mail.
        let script = try await server.vigil(["send", "--name", "rosa", "--to", "sam", "from rosa's script"])
        #expect(script.status == 0, "vigil send: \(script.output)")
        #expect(try await server.vigil(["send", "--name", "sam", "--to", "rosa", "still there?"]).status == 0)
        try await chat.waitFor("sam → you: still there?")
        #expect(!chat.output.contains("superseded"), "\(chat.output)")
        chat.type("quit")
        #expect(try await chat.finish() == 0)

        // rosa away, mail waiting: a script as rosa does not take it; her next chat gets it.
        #expect(try await server.vigil(["send", "--name", "sam", "--to", "rosa", "waiting for you"]).status == 0)
        let again = try await server.vigil(["send", "--name", "rosa", "--to", "sam", "script again"])
        #expect(again.status == 0, "vigil send: \(again.output)")
        #expect(!again.output.contains("waiting for you"))
        let back = try ChatProcess(server, name: "rosa")
        defer { back.stop() }
        try await back.waitFor("sam → you: waiting for you")
        #expect(try await back.finish() == 0)
    }

    @Test("vigil chat reconnects by itself after a server restart and sends what was queued meanwhile")
    func chatReconnects() async throws {
        var server = try await ToolServer.start()
        defer { server.stop() }
        let helen = try ChatProcess(server, name: "helen")
        defer { helen.stop() }
        try await helen.waitFor("connected to")
        // ivan becomes known, then leaves.
        #expect(try await server.vigil(["send", "--name", "ivan", "--to", "helen", "see you"]).status == 0)
        try await helen.waitFor("ivan → you: see you")

        server.server.stop()  // SIGKILL: no goodbye, the chat notices the loss
        try await helen.waitFor("connection lost")
        helen.type("send @ivan written while the server was down")
        try await helen.waitFor("not connected: queued")
        try await server.restart()
        try await helen.waitFor("reconnected as helen", timeout: .seconds(30))
        try await helen.waitFor("✓ to ivan: written while the server was down")

        let ivan = try ChatProcess(server, name: "ivan")
        defer { ivan.stop() }
        try await ivan.waitFor("helen → you: written while the server was down")
        try await Task.sleep(for: .milliseconds(500))
        #expect(ivan.count("written while the server was down") == 1)
        #expect(try await ivan.finish() == 0)
        #expect(try await helen.finish() == 0)
    }

    @Test("keys: a user with a key registers under the key's name; without it the name is refused (exit 77)")
    func keys() async throws {
        let server = try await ToolServer.start(openEnrollment: false)
        defer { server.stop() }
        let key = try server.key(for: "judy")
        let keyFile = server.directory.appendingPathComponent("judy.key")
        try Data(key.utf8).write(to: keyFile)
        let withFile = try await server.vigil(["send", "--name", "judy", "--key-file", keyFile.path, "hello from judy"])
        #expect(withFile.status == 0, "vigil send: \(withFile.output)")
        let refused = try await server.vigil(["send", "--name", "judy", "hello without a key"])
        #expect(refused.status == 77)
        #expect(refused.output.contains("key_required"), "vigil send: \(refused.output)")
    }

    @Test("an agent logs and acknowledges a message; a chat user gets the server's notice when the host is DOWN")
    func agentsAndNotices() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        let watcher = try ChatProcess(server, name: "olga")
        defer { watcher.stop() }
        try await watcher.waitFor("connected to")
        let agentBinary = try Binaries.path("vigil-agent")
        let agent = try Child(agentBinary, ["--server", server.address, "--ca", server.caFile, "--hostname", "web-7", "--metrics-interval", "0", "--log-level", "info"], name: "agent-web-7", directory: server.directory)
        defer { agent.stop() }
        _ = try await waitFor("web-7 to register", timeout: .seconds(30)) { agent.output.contains("registered") ? true : nil }

        let sent = try await server.vigil(["send", "--name", "olga-script", "--to", "web-7", "please rotate the logs"])
        #expect(sent.status == 0, "\(sent.output)")
        _ = try await waitFor("the agent to log the message", timeout: .seconds(30)) { agent.output.contains("please rotate the logs") ? true : nil }
        #expect(agent.output.contains("from=olga-script"), "\(agent.output)")

        agent.signal(SIGKILL)
        let notice = try await watcher.waitFor("** server: ", timeout: .seconds(30))
        #expect(notice.contains("web-7") && notice.contains("DOWN"), "\(notice)")

        // The agent acknowledged the message: when it is back, it does not get it again.
        let back = try Child(agentBinary, ["--server", server.address, "--ca", server.caFile, "--hostname", "web-7", "--metrics-interval", "0", "--log-level", "info"], name: "agent-web-7-again", directory: server.directory)
        defer { back.stop() }
        _ = try await waitFor("web-7 to register again", timeout: .seconds(30)) { back.output.contains("registered") ? true : nil }
        try await watcher.waitFor("** server: ", count: 2, timeout: .seconds(30))  // RECOVERED
        try await Task.sleep(for: .seconds(1))
        #expect(!back.output.contains("please rotate the logs"), "\(back.output)")
        #expect(try await watcher.finish() == 0)
    }

    @Test("on a terminal, a message arriving is printed above the line being typed, which is drawn again intact",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func terminal() async throws {
        let server = try await ToolServer.start()
        defer { server.stop() }
        // script(1) runs the chat in a pseudo-terminal and passes our keystrokes to it; `stty -a`
        // afterwards shows the terminal's mode once the chat has exited.
        let process = Process()
        let keys = Pipe()
        let log = server.directory.appendingPathComponent("tty.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-q", "-e", "-c", "\(server.vigil) chat --server \(server.address) --ca \(server.caFile) --name pia; echo chat-exit=$?; stty -a", "/dev/null"]
        process.standardInput = keys
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let output = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        func type(_ text: String) { keys.fileHandleForWriting.write(Data(text.utf8)) }

        _ = try await waitFor("the chat to connect", timeout: .seconds(30)) { output().contains("connected to") ? true : nil }
        type("send hel")
        _ = try await waitFor("the typed text to echo", timeout: .seconds(30)) { output().contains("pia> send hel") ? true : nil }
        #expect(try await server.vigil(["send", "--name", "quinn", "--to", "pia", "arriving while pia types"]).status == 0)
        let redrawn = try await waitFor("the message and the redrawn input", timeout: .seconds(30)) { () -> Bool? in
            guard let range = output().range(of: "quinn → you: arriving while pia types") else { return nil }
            return output()[range.upperBound...].contains("pia> send hel") ? true : nil
        }
        #expect(redrawn)
        // Backspace twice, an arrow key (ignored), the rest, Enter.
        type("lo\u{7F}\u{7F}\u{1B}[Dlo there\r")
        _ = try await waitFor("the confirmation", timeout: .seconds(30)) { output().contains("✓ to everyone: hello there") ? true : nil }
        type("garbage\u{15}\u{04}")  // Ctrl-U erases the line, Ctrl-D on an empty line leaves
        _ = try await waitFor("the chat and stty to exit", timeout: .seconds(30)) { process.isRunning ? nil : true }
        #expect(output().contains("chat-exit=0"))
        let mode = Set((output().components(separatedBy: "chat-exit=0").last ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        #expect(mode.isSuperset(of: ["icanon", "echo", "isig", "icrnl"]), "the terminal is back in its normal mode: \(mode.sorted())")
        #expect(!output().contains("garbage\r\n"), "an erased line is not sent")
    }
}
