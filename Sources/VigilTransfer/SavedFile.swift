/// A received file, verified and in its place.
public struct SavedFile: Sendable, Equatable {
    /// The absolute path of the final file.
    public var path: String
    /// The name it got: the offered name, or `name (2).ext` … when that was taken.
    public var filename: String
    public var size: UInt64
    /// 64 lower-case hex digits.
    public var sha256: String

    public init(path: String, filename: String, size: UInt64, sha256: String) {
        self.path = path
        self.filename = filename
        self.size = size
        self.sha256 = sha256
    }
}
