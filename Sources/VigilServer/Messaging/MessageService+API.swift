import Foundation
import VigilProtocol
import VigilStore

extension MessageService {
    /// Stores a message from `server` (`POST /api/messages`) and routes it like any other.
    ///
    /// - Parameter recipient: A known client id, or `nil` to broadcast to every known client.
    /// - Returns: The stored row.
    func post(recipient: String?, content: String) async throws(MessageRefusal) -> StoredMessage {
        try self.rules.check(content: content, recipient: recipient)
        let message = NewMessage(messageID: UUID().uuidString.lowercased(), sender: MessageRules.serverID, recipient: recipient, content: content, storedAt: Date())
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<MessageWriteOutcome, any Error>, Never>) in
            do throws(MessageQueue.Refusal) {
                try self.queue.enqueue(.message(message, .waiter { continuation.resume(returning: $0) }))
            } catch {
                continuation.resume(returning: .failure(Self.refusal(for: error)))
            }
        }
        switch result {
        case .success(.stored(let row)), .success(.duplicate(let row)):
            return row
        case .success(.unknownRecipient):
            throw MessageRefusal(.unknownRecipient, "no client named \((recipient ?? "?").debugDescription) has ever registered with this server")
        case .success(let other):
            throw MessageRefusal(.failed, "unexpected store outcome \(other)")
        case .failure(let refusal as MessageRefusal):
            throw refusal
        case .failure(let error):
            throw MessageRefusal(.failed, "the message could not be stored: \(error)")
        }
    }

    /// Messages as the API lists them, newest first.
    func conversation(_ query: ConversationQuery) async throws -> [StoredMessage] {
        try await self.store.conversation(query)
    }

    /// Whether a client has ever registered.
    func isKnown(_ clientID: String) async throws -> Bool {
        try await self.store.isKnown(clientID)
    }

    /// Why the queue refused a request, as the sender hears it.
    static func refusal(for error: MessageQueue.Refusal) -> MessageRefusal {
        switch error {
        case .full: MessageRefusal(.busy, "the server has too many messages waiting to be stored (messages.max_pending); send it again later")
        case .closed: MessageRefusal(.busy, "the server is shutting down; send it again after it restarts")
        }
    }
}
