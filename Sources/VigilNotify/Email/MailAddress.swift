import Foundation

/// A mailbox as settings write it: `ops@example.com` or `Vigil <vigil@example.com>`.
public struct MailAddress: Sendable, Equatable, CustomStringConvertible {
    /// The display name, without quotes, when one was given.
    public var displayName: String?
    /// `local@domain`, what MAIL FROM and RCPT TO carry.
    public var address: String

    /// Parses one mailbox; nil for anything that is not `local@domain`, optionally behind a display
    /// name and in angle brackets, or that holds control characters (which could inject commands or
    /// headers) or spaces in the address.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        var address = Substring(trimmed)
        var name: String?
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
            let display = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            let unquoted = display.hasPrefix("\"") && display.hasSuffix("\"") && display.count >= 2 ? String(display.dropFirst().dropLast()) : display
            name = unquoted.isEmpty ? nil : unquoted
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0].utf8.count <= 64, address.utf8.count <= 254,
            !address.contains(where: { " <>()[],;:\\\"".contains($0) })
        else { return nil }
        self.displayName = name
        self.address = String(address)
    }

    /// The header form: `"Vigil" <vigil@example.com>` (the name RFC 2047-encoded when not ASCII).
    public var headerValue: String {
        guard let name = self.displayName else { return self.address }
        let encoded = HeaderText.encodedWord(name)
        let shown = encoded == name ? "\"\(name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" : encoded
        return "\(shown) <\(self.address)>"
    }

    public var description: String { self.headerValue }
}
