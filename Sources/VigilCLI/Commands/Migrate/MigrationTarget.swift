import ArgumentParser
import Foundation
import VigilPostgres

/// The PostgreSQL database `vigil migrate` writes to, from `--to` and the password's file or
/// environment variable (the server's `store.postgres.*` rules: no password in the URL).
enum MigrationTarget {
    static let passwordVariable = "VIGIL_STORE_POSTGRES_PASSWORD"

    static func settings(url: String, passwordFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresStoreSettings {
        // Checked before parsing, and the URL never echoed: it would show the password.
        if URLComponents(string: url)?.password != nil {
            throw ValidationError("--to holds a password: give it with --password-file FILE or \(Self.passwordVariable), never on the command line")
        }
        var password = environment[Self.passwordVariable]
        if let passwordFile {
            do {
                let text = try String(contentsOfFile: passwordFile, encoding: .utf8)
                password = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            } catch {
                throw ValidationError("--password-file: cannot read \(passwordFile): \(error.localizedDescription)")
            }
        }
        do {
            var settings = try PostgresStoreSettings(url: url, password: password)
            settings.maxConnections = 4  // one statement at a time, and the partition DDL beside it
            return settings
        } catch let error as PostgresStoreSettings.InvalidURL {
            throw ValidationError("--to: \(error.description)")
        }
    }
}
