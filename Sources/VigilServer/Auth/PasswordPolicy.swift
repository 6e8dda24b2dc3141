/// What a new password must be.
public struct PasswordPolicy: Sendable {
    public var minLength: Int

    public init(settings: AuthSettings) {
        self.minLength = settings.minPasswordLength
    }

    /// Why `password` is refused, or `nil` when it is acceptable. Never includes the password.
    public func problem(with password: String) -> String? {
        if password.count < self.minLength {
            return "a password must be at least \(self.minLength) characters (auth.min_password_length)"
        }
        if password.utf8.count > AuthSettings.maxPasswordBytes {
            return "a password must be at most \(AuthSettings.maxPasswordBytes) bytes in UTF-8 (bcrypt reads no further)"
        }
        if password.utf8.contains(0) {
            return "a password must not contain the NUL character"
        }
        return nil
    }
}

extension PasswordPolicy {
    /// Whether bcrypt can check `password` faithfully (no NUL, within its 72 bytes). A sign-in with
    /// any other password fails: bcrypt would check only a prefix of it.
    static func isUsable(_ password: String) -> Bool {
        password.utf8.count <= AuthSettings.maxPasswordBytes && !password.utf8.contains(0)
    }
}
