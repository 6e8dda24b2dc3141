/// Names for a received file that does not overwrite another: `report.pdf`, then `report (2).pdf`,
/// `report (3).pdf`, … The counter goes before the last extension; the name is cut (between
/// characters) so it stays within ``maxBytes``.
enum FreeName {
    static let maxBytes = 255

    /// The `n`th candidate (1 is the name itself).
    static func candidate(_ name: String, _ n: Int) -> String {
        guard n > 1 else { return name }
        var stem = Substring(name)
        var ext = Substring("")
        if let dot = name.lastIndex(of: "."), dot != name.startIndex, name.index(after: dot) != name.endIndex {
            stem = name[..<dot]
            ext = name[dot...]
        }
        let counter = " (\(n))"
        while stem.utf8.count + counter.utf8.count + ext.utf8.count > Self.maxBytes {
            if !stem.isEmpty {
                stem = stem.dropLast()
            } else {
                ext = ext.dropLast()
            }
        }
        return String(stem) + counter + String(ext)
    }
}
