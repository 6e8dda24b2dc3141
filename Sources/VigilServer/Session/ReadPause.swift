/// Why a session has stopped reading from its socket. Reading resumes only when no reason is left.
enum ReadPause: Hashable, Sendable {
    /// The peer is not reading what we send: more input would only queue more answers.
    case outboundFull
    /// File bytes arrive faster than the disk takes them.
    case diskBehind
}
