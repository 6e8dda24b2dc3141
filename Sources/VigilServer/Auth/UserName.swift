/// The rule for user names: short, printable, unambiguous in logs and URLs.
public enum UserName {
    public static let rule = "a user name is 1-64 characters of letters, digits, '.', '-', '_' and '@', starting with a letter or digit"

    public static func isValid(_ name: String) -> Bool {
        guard (1...64).contains(name.count), let first = name.unicodeScalars.first,
              first.isASCIIAlphanumeric
        else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "." || $0 == "-" || $0 == "_" || $0 == "@" }
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self.value) || (0x41...0x5A).contains(self.value) || (0x61...0x7A).contains(self.value)
    }
}
