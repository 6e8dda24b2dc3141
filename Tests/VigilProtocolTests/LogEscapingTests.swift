import Testing
import VigilProtocol

/// `String.logEscaped`: what a peer chose can be written into a log line without forging a line,
/// driving a terminal or reading differently than it is.
@Suite("Log escaping")
struct LogEscapingUnitTests {
    @Test("line breaks, ANSI, C1 controls, bidi and zero-width format characters are escaped; quotes and backslashes too")
    func escapes() {
        #expect("a\nb\r\tc".logEscaped == #""a\nb\r\tc""#)
        #expect("\u{1B}[31mred".logEscaped == #""\u{1B}[31mred""#)
        #expect("x\u{202E}y\u{2066}z\u{200B}w\u{FEFF}".logEscaped == #""x\u{202E}y\u{2066}z\u{200B}w\u{FEFF}""#)
        #expect("nel\u{85}ls\u{2028}ps\u{2029}del\u{7F}nul\u{0}".logEscaped == #""nel\u{85}ls\u{2028}ps\u{2029}del\u{7F}nul\u{0}""#)
        #expect(#"say "hi" \ bye"#.logEscaped == #""say \"hi\" \\ bye""#)
    }

    @Test("printable text in any script is kept as it is")
    func keepsPrintable() {
        #expect("web-01.example.com".logEscaped == "\"web-01.example.com\"")
        #expect("ünïcödé 日本語 😀 é".logEscaped == "\"ünïcödé 日本語 😀 é\"")
        #expect(String?.none.logEscaped == "-")
        #expect(Optional("a\nb").logEscaped == #""a\nb""#)
    }
}
