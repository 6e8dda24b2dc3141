import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// docs/OPERATIONS.md against the real binary: what it says `vigil keys list --json` prints, how it
/// says a key is created, and what it says about the HTTP API's authentication (issue 12).
@Suite("docs/OPERATIONS.md against the binary")
struct OperationsDocumentTests {
    static func document() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/OPERATIONS.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The backticked names after "fields" in §6's `list` row.
    static func documentedKeyFields(_ text: String) throws -> Set<String> {
        let section = try #require(text.range(of: "## 6. Agent keys"), "OPERATIONS.md has no §6")
        let row = try #require(text[section.upperBound...].split(separator: "\n").first { $0.hasPrefix("| list |") }, "§6 has no list row")
        let fields = try #require(row.range(of: "(fields "), "the list row names no fields")
        let end = try #require(row.range(of: ")", range: fields.upperBound..<row.endIndex))
        let names = row[fields.upperBound..<end.lowerBound].split(separator: "`", omittingEmptySubsequences: false)
            .enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        return Set(names)
    }

    @Test("§6's field names for vigil keys list --json are the binary's")
    func keysListFields() async throws {
        let documented = try Self.documentedKeyFields(try Self.document())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-e2e-opsdoc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let vigil = try Binaries.path("vigil")
        let data = directory.appendingPathComponent("data")

        // One key used (a metrics post through a server) and then revoked, so every optional field is set.
        let (created, token) = try run(vigil, ["keys", "create", "--key-only", "--host", "doc-1", "--data-dir", data.path])
        #expect(created == 0)
        let ready = directory.appendingPathComponent("ready.json")
        let server = try Child(vigil, ["server", "--data-dir", data.path, "--agent-port", "0", "--http-port", "0", "--ready-file", ready.path], name: "server", directory: directory)
        defer { server.stop() }
        let port = try await waitFor("the ready file", timeout: .seconds(30)) { () -> Int? in
            (try JSONSerialization.jsonObject(with: Data(contentsOf: ready)) as? [String: Int])?["http_port"]
        }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/metrics")!)
        request.httpMethod = "POST"
        request.setValue(token.trimmingCharacters(in: .whitespacesAndNewlines), forHTTPHeaderField: "X-API-Key")
        request.httpBody = Data(#"{"timestamp": "\#(Date().formatted(.iso8601))", "cpu": {"cpu_percent_total": 1.0, "cpu_count_logical": 1}}"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let id = try #require(token.split(separator: "_").dropFirst().first)
        let (revoked, _) = try run(vigil, ["keys", "revoke", String(id), "--data-dir", data.path])
        #expect(revoked == 0)

        let (listed, output) = try run(vigil, ["keys", "list", "--json", "--data-dir", data.path])
        #expect(listed == 0)
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
        let printed = Set(keys.flatMap(\.keys))
        #expect(printed == documented, "binary prints \(printed.sorted()); OPERATIONS.md §6 names \(documented.sorted())")
    }

    @Test("every `vigil keys create` in OPERATIONS.md names its host with --host")
    func keysCreateNeedsHost() throws {
        let text = try Self.document()
        var rest = text[...]
        var count = 0
        while let found = rest.range(of: "vigil keys create") {
            let after = rest[found.upperBound...].prefix(8)
            #expect(after.hasPrefix(" --host") || after.hasPrefix("`") || after.hasPrefix(" …"), "`vigil keys create\(after)…` needs --host")
            count += 1
            rest = rest[found.upperBound...]
        }
        #expect(count > 0)
    }

    /// Each key of §2's table with its `reload` column (`hot` or `restart`).
    static func documentedReloadMarks(_ text: String) throws -> [String: String] {
        let table = try #require(text.range(of: "### All keys"), "OPERATIONS.md has no key table")
        var marks: [String: String] = [:]
        var started = false
        for line in text[table.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("| key |") {
                #expect(line.hasPrefix("| key | reload |"), "the key table's second column is `reload`")
                started = true
            } else if started, !line.hasPrefix("|") {
                break
            } else if started, line.hasPrefix("| `") {
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                marks[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
            }
        }
        return marks
    }

    @Test("§2 marks every key hot or restart exactly as the binary applies them (vigil reload --list-keys), and lists every key it reads")
    func reloadMarks() async throws {
        let documented = try Self.documentedReloadMarks(try Self.document())
        let (status, output) = try run(try Binaries.path("vigil"), ["reload", "--list-keys"])
        #expect(status == 0, "\(output)")
        var binary: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { binary[String(parts[0])] = String(parts[1]) }
        }
        #expect(binary.count > 100, "\(output)")
        #expect(Set(documented.keys) == Set(binary.keys), "only documented: \(Set(documented.keys).subtracting(binary.keys).sorted()); only in the binary: \(Set(binary.keys).subtracting(documented.keys).sorted())")
        for (key, mark) in binary where documented[key] != nil {
            #expect(documented[key] == mark, "\(key): OPERATIONS.md says \(documented[key] ?? "-"), the binary \(mark)")
        }
        #expect(binary.values.contains("hot") && binary.values.contains("restart"))
    }

    @Test("§1 does not say the HTTP API has no authentication")
    func httpAuthenticationDocumented() throws {
        let text = try Self.document()
        let section = try #require(text.range(of: "## 1. What runs where"))
        let end = text.range(of: "## 2.", range: section.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
        let first = text[section.upperBound..<end]
        #expect(!first.contains("no authentication"))
        #expect(first.contains("sign"), "§1 says how the API is authenticated")
    }
}
