import Foundation
import VigilServer
import VigilStore

extension ServerOptions {
    /// For the commands that work on the data directory (`server`, `up`, `keys`, `users`): every
    /// file this process creates from here on is private (umask 077: 0600 files, 0700
    /// directories), and the directory is created, or refused when others can read it or its
    /// secret-bearing files (the error names the `chmod` to run).
    func prepareDataDirectory(_ settings: ServerSettings) throws -> URL {
        umask(0o077)
        let directory = URL(fileURLWithPath: settings.dataDirectory)
        if settings.storage.usesDataDirectory {
            try DataDirectory.prepare(directory)
        }
        return directory
    }
}
