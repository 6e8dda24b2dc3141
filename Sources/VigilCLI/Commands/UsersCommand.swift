import ArgumentParser
import Foundation
import VigilServer
import VigilStore

/// `vigil users`: the people who may sign in to the HTTP API and the dashboard, managed on the
/// data directory (the server may be running; it picks changes up within `auth.reload_interval`).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "List, add, change and remove users (works on the data directory; the server may be running).",
        discussion: """
        Roles: viewer (reads everything), operator (also sends messages and files), admin (also
        manages users and agent keys). A password is never taken on the command line: it is read
        from standard input with --password-stdin, asked for on the terminal (no echo), or, with
        --generate, made up and printed once.
        Exit codes: 0 success; 1 no such user, name taken, or the last admin; 64 bad usage.
        """,
        subcommands: [List.self, Add.self, SetRole.self, SetPassword.self, Remove.self]
    )

    /// Where the new password comes from.
    struct PasswordSource: ParsableArguments {
        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @Flag(help: "Make up a random password and print it once on standard output.")
        var generate = false

        /// The password, checked against the policy; `generated` says whether to print it.
        func read(settings: ServerSettings) throws -> (password: String, generated: Bool) {
            guard !(self.passwordStdin && self.generate) else {
                throw ValidationError("--password-stdin and --generate exclude each other")
            }
            let password: String
            if self.generate {
                password = Self.randomPassword()
            } else if self.passwordStdin || !PasswordInput.isInteractive {
                guard let line = PasswordInput.fromStandardInput(), !line.isEmpty else {
                    throw ValidationError("no password on standard input (or use --generate)")
                }
                password = line
            } else {
                guard let typed = PasswordInput.prompt("Password: ", confirm: true) else {
                    throw ValidationError("the passwords did not match")
                }
                password = typed
            }
            if let problem = PasswordPolicy(settings: settings.auth).problem(with: password) {
                throw ValidationError(problem)
            }
            return (password, self.generate)
        }

        static func randomPassword() -> String {
            let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            var rng = SystemRandomNumberGenerator()
            return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
        }
    }

    static func role(_ text: String) throws -> UserRole {
        guard let role = UserRole(rawValue: text.lowercased()) else {
            throw ValidationError("a role is viewer, operator or admin (got \(text))")
        }
        return role
    }

    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("vigil users: \(message)\n".utf8))
        return ExitCode(1)
    }

    /// Runs a store change, turning the store's refusals into messages and exit code 1.
    static func change<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as UserStoreError {
            switch error {
            case .duplicate(let name): throw Self.fail("a user named \(name) exists already")
            case .notFound(let name): throw Self.fail("no user named \(name)")
            case .lastAdmin(let name): throw Self.fail("\(name) is the last admin; make another user admin first")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and their roles (never their password hashes).")
        @OptionGroup var options: ServerOptions
        @Flag(help: "JSON output.")
        var json = false

        func run() async throws {
            let users = try await self.options.openStore().users()
            if self.json {
                let rows = users.map { ["name": $0.name, "role": $0.role.rawValue, "created_at": $0.createdAt.formatted(.iso8601), "updated_at": $0.updatedAt.formatted(.iso8601)] }
                print(String(decoding: try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            guard !users.isEmpty else {
                print("no users; the server creates the first admin when it starts")
                return
            }
            let width = max(20, users.map(\.name.count).max() ?? 0)
            print("NAME".padding(toLength: width, withPad: " ", startingAt: 0) + "  ROLE      CREATED               UPDATED")
            for user in users {
                print(user.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                      + user.role.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                      + user.createdAt.formatted(.iso8601) + "  " + user.updatedAt.formatted(.iso8601))
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The sign-in name.")
        var name: String
        @Option(help: "viewer, operator or admin.")
        var role: String
        @OptionGroup var password: PasswordSource

        func run() async throws {
            guard UserName.isValid(self.name) else { throw ValidationError(UserName.rule) }
            let role = try UsersCommand.role(self.role)
            let settings = try await self.options.loadSettings()
            let (password, generated) = try self.password.read(settings: settings)
            let store = try await self.options.openStore()
            let hash = try await PasswordHasher(cost: settings.auth.bcryptCost).hash(password)
            let now = Date()
            try await UsersCommand.change {
                try await store.createUser(UserRecord(name: self.name, role: role, passwordHash: hash, createdAt: now, updatedAt: now))
            }
            FileHandle.standardError.write(Data("added \(self.name) (\(role.rawValue))\(generated ? "; the password is shown once:" : "")\n".utf8))
            if generated { print(password) }
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Change a user's role (applies to their next request).")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The user.")
        var name: String
        @Argument(help: "viewer, operator or admin.")
        var role: String

        func run() async throws {
            let role = try UsersCommand.role(self.role)
            let store = try await self.options.openStore()
            _ = try await UsersCommand.change { try await store.updateUser(named: self.name, role: role, passwordHash: nil, at: Date()) }
            print("\(self.name) is now \(role.rawValue)")
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-password", abstract: "Set a user's password; their sessions end.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The user.")
        var name: String
        @OptionGroup var password: PasswordSource

        func run() async throws {
            let settings = try await self.options.loadSettings()
            let store = try await self.options.openStore()
            guard try await store.user(named: self.name) != nil else { throw UsersCommand.fail("no user named \(self.name)") }
            let (password, generated) = try self.password.read(settings: settings)
            let hash = try await PasswordHasher(cost: settings.auth.bcryptCost).hash(password)
            let now = Date()
            _ = try await UsersCommand.change { try await store.updateUser(named: self.name, role: nil, passwordHash: hash, at: now) }
            let ended = try await store.endSessions(userName: self.name, keeping: nil, at: now)
            FileHandle.standardError.write(Data("set the password of \(self.name); \(ended.count) session(s) ended\(generated ? "; the password is shown once:" : "")\n".utf8))
            if generated { print(password) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user; their sessions end.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The user.")
        var name: String

        func run() async throws {
            let store = try await self.options.openStore()
            let ended = try await UsersCommand.change { try await store.deleteUser(named: self.name, at: Date()) }
            print("removed \(self.name); \(ended.count) session(s) ended")
        }
    }
}
