import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How a command reaches the HTTP API as a signed-in user: `--server`, and `--user` with
/// `VIGIL_PASSWORD` (never on the command line) or `--token`. Failures print why and exit 3
/// (the Nagios "unknown"), so monitoring scripts can tell "cannot ask" from an answer.
struct APIAccessOptions: ParsableArguments {
    @Option(help: "The server's HTTP address (also VIGIL_URL).")
    var server: String?

    @Option(help: "Sign in as this user (also VIGIL_USER); the password is read from VIGIL_PASSWORD.")
    var user: String?

    @Option(help: "An access token to use instead of signing in (also VIGIL_TOKEN).")
    var token: String?

    /// GETs `path` and returns the body of a 200 answer. A session this call signed in for ends with it.
    func get(_ path: String, command: String) async throws -> Data {
        let environment = ProcessInfo.processInfo.environment
        let base = self.server ?? environment["VIGIL_URL"] ?? "http://127.0.0.1:5000"
        let root = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard let url = URL(string: root + path) else {
            throw ValidationError("invalid --server \(base)")
        }
        do {
            let (token, signedIn) = try await self.accessToken(root: root, environment: environment, command: command)
            var request = URLRequest(url: url)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (body, response) = try await URLSession.shared.data(for: request)
            // Scripts run often: no pile of live sessions.
            if signedIn {
                var logout = URLRequest(url: URL(string: root + "/api/auth/logout")!)
                logout.httpMethod = "POST"
                logout.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                _ = try? await URLSession.shared.data(for: logout)
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard status == 200 else {
                let hint = status == 401 ? " (the token is invalid or expired; sign in again)" : ""
                FileHandle.standardError.write(Data("\(command): \(url) answered HTTP \(status)\(hint)\n".utf8))
                throw ExitCode(3)
            }
            return body
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("\(command): cannot reach \(url): \(error.localizedDescription)\n".utf8))
            throw ExitCode(3)
        }
    }

    /// --token or VIGIL_TOKEN as given, or one from signing in as --user with VIGIL_PASSWORD.
    private func accessToken(root: String, environment: [String: String], command: String) async throws -> (token: String, signedIn: Bool) {
        if let token = self.token ?? environment["VIGIL_TOKEN"], !token.isEmpty { return (token, false) }
        guard let user = self.user ?? environment["VIGIL_USER"], !user.isEmpty else {
            FileHandle.standardError.write(Data("\(command): the API needs a signed-in user: give --user NAME with VIGIL_PASSWORD set, or --token (or VIGIL_TOKEN)\n".utf8))
            throw ExitCode(3)
        }
        guard let password = environment["VIGIL_PASSWORD"] else {
            FileHandle.standardError.write(Data("\(command): set VIGIL_PASSWORD to the password of \(user) (it is never taken on the command line)\n".utf8))
            throw ExitCode(3)
        }
        var request = URLRequest(url: URL(string: root + "/api/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["username": user, "password": password])
        let (body, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200, let token = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["access_token"] as? String else {
            let code = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
            FileHandle.standardError.write(Data("\(command): signing in as \(user) failed: HTTP \(status)\(code.map { " \($0)" } ?? "")\n".utf8))
            throw ExitCode(3)
        }
        return (token, true)
    }
}
