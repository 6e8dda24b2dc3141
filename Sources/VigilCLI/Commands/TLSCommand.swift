import ArgumentParser
import Foundation
import VigilServer
import VigilStore

/// `vigil tls`: the server's own CA and certificate in the data directory.
struct TLSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls",
        abstract: "Show or rotate the server's TLS certificate (works on the data directory; the server may be running).",
        discussion: "Exit codes: 0 success; 1 the certificates cannot be read or made; 64 bad usage.",
        subcommands: [Show.self, Rotate.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the CA's fingerprint (what enrollment tokens pin), its file, and the server certificate's names and expiry.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let settings = try await self.options.loadSettings()
            _ = try self.options.prepareDataDirectory(settings)
            let material: TLSMaterial
            do {
                (material, _) = try TLSFiles.load(settings: settings.tls, names: settings.tlsNames, dataDirectory: settings.dataDirectory)
            } catch {
                FileHandle.standardError.write(Data("vigil tls: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let files = TLSFiles(dataDirectory: settings.dataDirectory)
            print("CA fingerprint:  \(material.caFingerprint)")
            print("CA certificate:  \(settings.tls.caFile ?? (settings.tls.usesOperatorFiles ? settings.tls.certificateFile ?? "" : files.caCertificatePath))")
            print("server names:    \(material.serverNames.joined(separator: ", "))")
            print("valid until:     \(ISO8601DateFormatter().string(from: material.serverCertificate.notValidAfter))")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a new server certificate from the same CA and tell a running server to load it (SIGHUP).",
            discussion: "Enrolled agents keep working: they pin the CA, which does not change. Open connections keep their session."
        )
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let settings = try await self.options.loadSettings()
            guard !settings.tls.usesOperatorFiles else {
                throw ValidationError("tls.certificate is set: the certificate is yours to replace; then send SIGHUP to the server")
            }
            let directory = try self.options.prepareDataDirectory(settings)
            let material: TLSMaterial
            do {
                material = try TLSFiles(dataDirectory: settings.dataDirectory).rotate(settings: settings.tls, names: settings.tlsNames)
            } catch {
                FileHandle.standardError.write(Data("vigil tls rotate: \(error)\n".utf8))
                throw ExitCode(1)
            }
            print("issued a new server certificate (valid until \(ISO8601DateFormatter().string(from: material.serverCertificate.notValidAfter))); CA unchanged: \(material.caFingerprint)")
            if let pid = DataDirectoryLock.runningServer(in: directory) {
                if kill(pid, SIGHUP) == 0 {
                    print("told the running server (pid \(pid)) to load it")
                } else {
                    print("could not signal the running server (pid \(pid)): \(String(cString: strerror(errno))); send it SIGHUP")
                }
            } else {
                print("no server is running on \(directory.path); it loads the new certificate when it starts")
            }
        }
    }
}
