import Synchronization
import VigilClient

/// Prints what happens to one file of `vigil send-file`: progress on standard error (a bar on a
/// terminal, lines otherwise), the milestones (sending, resuming, interrupted) on standard output.
/// Called from the sender's task; the progress state is behind a lock.
final class TransferReport: Sendable {
    let file: PreparedFile
    private let progress: Mutex<TransferProgress>

    init(file: PreparedFile, interactive: Bool) {
        self.file = file
        self.progress = Mutex(TransferProgress(name: file.filename, size: file.size, interactive: interactive))
    }

    func handle(_ event: FileTransferEvent) {
        switch event {
        case .started(let offset, _):
            self.progress.withLock { $0.start(at: offset) }
            if offset > 0 {
                Output.standardOutput("resuming \(self.file.filename) at \(offset) bytes (\(TransferProgress.bytes(offset)) of \(TransferProgress.bytes(self.file.size)) already on the server)\n")
            } else {
                Output.standardOutput("sending \(self.file.filename) (\(TransferProgress.bytes(self.file.size)), sha256 \(self.file.sha256))\n")
            }
        case .progress(let bytes):
            if let text = self.progress.withLock({ $0.update(bytes) }) { Output.standardError(text) }
        case .interrupted(let reason):
            self.clear()
            Output.standardOutput("interrupted \(self.file.filename) after \(self.progress.withLock { $0.bytes }) bytes: \(reason); resuming after the reconnect\n")
        case .busy(let reason):
            Output.standardError("\(self.file.filename): \(reason); trying again\n")
        }
    }

    /// Erases the bar before a result line.
    func clear() {
        Output.standardError(self.progress.withLock { $0.clear })
    }
}
