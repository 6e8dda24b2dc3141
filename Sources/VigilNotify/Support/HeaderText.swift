import Foundation

/// Text made safe for one header line (HTTP or mail): no CR, LF or other control characters (a
/// hostname or summary must not be able to add a header), and non-ASCII as RFC 2047 encoded words.
enum HeaderText {
    /// UTF-8 bytes per encoded word: base64 of 45 bytes is 60 characters, plus `=?UTF-8?B?` and
    /// `?=`, keeps each word within RFC 2047's 75.
    static let bytesPerEncodedWord = 45

    /// Control characters (CR and LF among them) replaced by spaces.
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? " " : $0 }))
    }

    /// `text` as is when it is printable ASCII, else as `=?UTF-8?B?…?=` words joined by `separator`
    /// (a space for HTTP; `\r\n ` folds a mail header).
    static func encodedWord(_ text: String, separator: String = " ") -> String {
        let clean = Self.sanitized(text)
        if clean.unicodeScalars.allSatisfy(\.isASCII) { return clean }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > Self.bytesPerEncodedWord, !chunk.isEmpty {
                words.append(Self.word(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(Self.word(chunk)) }
        return words.joined(separator: separator)
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?\(Data(bytes).base64EncodedString())?="
    }
}
