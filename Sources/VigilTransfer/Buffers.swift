import NIOCore

/// One allocator for the module's buffers (file bytes never go through `Data`).
enum Buffers {
    static let allocator = ByteBufferAllocator()

    static func make(capacity: Int) -> ByteBuffer {
        Self.allocator.buffer(capacity: capacity)
    }
}
