import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `vigil-bench messages`: messages routed per second and delivery latency (issue 4).
///
/// Two phases, each against a fresh `vigil server`: private messages from `--pairs` senders to one
/// recipient each, and broadcasts from one sender to `--broadcast-recipients` clients. Every client
/// is a real TCP connection registered as a user; recipients acknowledge every delivery, as Vigil's
/// own clients do.
struct MessagesBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "Private and broadcast message rates and delivery latency against a real vigil server.",
        discussion: """
        Latency is from the moment the sender writes a message to the moment its recipient reads it \
        (both in this process, on the monotonic clock), so it includes storing the message, which \
        happens before it is routed. "Stored" latency is from the write to the server's MESSAGE_ACK. \
        Rates count deliveries: a broadcast to 100 recipients is 100 deliveries.
        """
    )

    @Option(help: "Sender/recipient pairs for the private phase.")
    var pairs = 10

    @Option(help: "Messages each private sender sends.")
    var perSender = 20_000

    @Option(help: "Recipients of the broadcast phase.")
    var broadcastRecipients = 100

    @Option(help: "Broadcasts sent in the broadcast phase.")
    var broadcasts = 2_000

    @Option(help: "Messages a sender keeps unacknowledged at most.")
    var window = 256

    @Option(help: "Seconds each phase may take.")
    var timeout = 600

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard self.pairs >= 1, self.perSender >= 1, self.broadcastRecipients >= 1, self.broadcasts >= 1, self.window >= 1 else {
            throw ValidationError("--pairs, --per-sender, --broadcast-recipients, --broadcasts and --window must be positive")
        }
    }

    func run() async throws {
        Cleanup.shared.installSignalHandlers()
        let progress = self.common.progressPrinter()
        let executable = self.common.executable
        let load = MachineLoad.now()
        progress("private: \(self.pairs) pairs × \(self.perSender) messages, window \(self.window)")
        let privatePhase = try await MessagesPhase(executable: executable, tls: self.common.tls, timeout: .seconds(self.timeout), progress: progress)
            .run(senders: self.pairs, recipientsPerSender: 1, messagesPerSender: self.perSender, window: self.window, broadcast: false)
        progress("broadcast: 1 sender × \(self.broadcasts) messages to \(self.broadcastRecipients) recipients, window \(self.window)")
        let broadcastPhase = try await MessagesPhase(executable: executable, tls: self.common.tls, timeout: .seconds(self.timeout), progress: progress)
            .run(senders: 1, recipientsPerSender: self.broadcastRecipients, messagesPerSender: self.broadcasts, window: self.window, broadcast: true)
        let report = MessagesReport(date: Date().formatted(.iso8601), loadAtStart: load, loadAtEnd: .now(), privateMessages: privatePhase, broadcast: broadcastPhase)
        try self.common.print(report) { $0.table() }
        if privatePhase.lost + broadcastPhase.lost > 0 {
            throw BenchmarkError("\(privatePhase.lost + broadcastPhase.lost) message(s) acknowledged by the server were never delivered")
        }
    }
}

/// The figures of one phase.
struct MessagesPhaseReport: Codable, Sendable {
    var senders: Int
    var recipients: Int
    var messagesSent: Int
    var deliveriesExpected: Int
    var deliveries: Int
    /// Deliveries expected but not seen (0 unless something is wrong).
    var lost: Int
    var duplicates: Int
    var refusals: [String: Int]
    var seconds: Double
    var messagesPerSecond: Double
    var deliveriesPerSecond: Double
    var deliveryP50Ms: Double
    var deliveryP99Ms: Double
    var deliveryMaxMs: Double
    var storedP50Ms: Double
    var storedP99Ms: Double
    var serverCPUPercentOfOneCore: Double
    var loadGeneratorCPUPercentOfOneCore: Double
    var serverPeakRSSMebibytes: Double
}

struct MessagesReport: Codable, Sendable {
    var date: String
    var loadAtStart: MachineLoad
    var loadAtEnd: MachineLoad
    var privateMessages: MessagesPhaseReport
    var broadcast: MessagesPhaseReport

    func table() -> String {
        var printer = ReportPrinter()
        for (title, phase) in [("Private messages", self.privateMessages), ("Broadcast", self.broadcast)] {
            printer.section("\(title): \(phase.senders) sender(s), \(phase.recipients) recipient(s)")
            printer.row("messages sent", Format.number(phase.messagesSent))
            printer.row("deliveries", "\(Format.number(phase.deliveries)) of \(Format.number(phase.deliveriesExpected)) (lost \(phase.lost), duplicates acked \(phase.duplicates))")
            if !phase.refusals.isEmpty { printer.row("refused", phase.refusals.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")) }
            printer.row("time", String(format: "%.2f s", phase.seconds))
            printer.row("messages/s", Format.number(phase.messagesPerSecond))
            printer.row("deliveries/s", Format.number(phase.deliveriesPerSecond))
            printer.row("delivery latency", "p50 \(Format.milliseconds(phase.deliveryP50Ms)), p99 \(Format.milliseconds(phase.deliveryP99Ms)), max \(Format.milliseconds(phase.deliveryMaxMs))")
            printer.row("stored (MESSAGE_ACK) latency", "p50 \(Format.milliseconds(phase.storedP50Ms)), p99 \(Format.milliseconds(phase.storedP99Ms))")
            printer.row("server CPU", String(format: "%.0f %% of one core", phase.serverCPUPercentOfOneCore))
            printer.row("load generator CPU", String(format: "%.0f %% of one core", phase.loadGeneratorCPUPercentOfOneCore))
            printer.row("server peak RSS", Format.number(phase.serverPeakRSSMebibytes, 1) + " MiB")
        }
        printer.section("Machine")
        printer.row("load at start / end", String(format: "%.2f / %.2f (%d cores)", self.loadAtStart.loadAverage1m, self.loadAtEnd.loadAverage1m, self.loadAtStart.cores))
        return printer.render()
    }
}

/// One phase against its own server.
struct MessagesPhase {
    let executable: String
    /// `--tls`: the server requires TLS and the clients pin its CA.
    var tls = false
    let timeout: Duration
    let progress: @Sendable (String) -> Void

    func run(senders: Int, recipientsPerSender: Int, messagesPerSender: Int, window: Int, broadcast: Bool) async throws -> MessagesPhaseReport {
        let server = try await ServerProcess.start(executable: self.executable, environment: [
            "VIGIL_AGENTS_OPEN_ENROLLMENT": "true",
            "VIGIL_MESSAGES_RATE_LIMIT": "0",
            "VIGIL_LOG_LEVEL": "warning",
        ], tls: self.tls)
        defer { server.removeDirectory() }
        let group = MultiThreadedEventLoopGroup.singleton
        var clients: [MessagingClient] = []
        do {
            let prefix = broadcast ? "bcast" : "pm"
            var senderClients: [MessagingClient] = []
            var recipientClients: [MessagingClient] = []
            var routes: [(sender: MessagingClient, recipient: String?)] = []
            for index in 0..<(senders * recipientsPerSender) {
                recipientClients.append(try await MessagingClient.connect(name: "\(prefix)-recipient-\(index)", port: server.agentPort, group: group, timeout: .seconds(30), tls: server.clientTLS))
            }
            for index in 0..<senders {
                let sender = try await MessagingClient.connect(name: "\(prefix)-sender-\(index)", port: server.agentPort, group: group, timeout: .seconds(30), tls: server.clientTLS)
                senderClients.append(sender)
                routes.append((sender, broadcast ? nil : recipientClients[index].name))
            }
            clients = recipientClients + senderClients
            let expected = broadcast ? messagesPerSender * recipientClients.count + messagesPerSender * (senders - 1) : senders * messagesPerSender
            let serverBefore = server.stats
            let ownBefore = ProcessStats.current()
            let watch = Stopwatch()
            let startNs = NIODeadline.now().uptimeNanoseconds
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for route in routes {
                    tasks.addTask { try await route.sender.send(count: messagesPerSender, to: route.recipient, window: window) }
                }
                try await tasks.waitForAll()
            }
            self.progress("all \(senders * messagesPerSender) messages stored after \(String(format: "%.2f", watch.seconds)) s; waiting for deliveries")
            var total = MessagingFigures()
            _ = try await waitFor("\(expected) deliveries", timeout: self.timeout, interval: .milliseconds(20)) { () -> Bool? in
                var received = 0
                for client in clients { received += try await client.figures().received }
                return received >= expected ? true : nil
            }
            for client in clients { total.merge(try await client.figures()) }
            let seconds = Double(total.lastReceivedAt &- startNs) / 1e9
            let serverAfter = server.stats
            let ownAfter = ProcessStats.current()
            let ms = { (microseconds: UInt64) in Double(microseconds) / 1000 }
            for client in clients { await client.close() }
            _ = await server.stop()
            return MessagesPhaseReport(
                senders: senders, recipients: recipientClients.count, messagesSent: senders * messagesPerSender,
                deliveriesExpected: expected, deliveries: total.received, lost: max(0, expected - total.received),
                duplicates: total.duplicates, refusals: total.refusals, seconds: seconds,
                messagesPerSecond: Double(senders * messagesPerSender) / seconds,
                deliveriesPerSecond: Double(total.received) / seconds,
                deliveryP50Ms: ms(total.delivery.valueAtPercentile(50)), deliveryP99Ms: ms(total.delivery.valueAtPercentile(99)),
                deliveryMaxMs: ms(total.delivery.max),
                storedP50Ms: ms(total.storeAck.valueAtPercentile(50)), storedP99Ms: ms(total.storeAck.valueAtPercentile(99)),
                serverCPUPercentOfOneCore: ((serverAfter?.cpuSeconds ?? 0) - (serverBefore?.cpuSeconds ?? 0)) / seconds * 100,
                loadGeneratorCPUPercentOfOneCore: (ownAfter.cpuSeconds - ownBefore.cpuSeconds) / seconds * 100,
                serverPeakRSSMebibytes: Double(serverAfter?.peakResidentBytes ?? 0) / 1_048_576)
        } catch {
            for client in clients { await client.close() }
            _ = await server.stop()
            throw error
        }
    }
}
