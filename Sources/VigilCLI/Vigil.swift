import ArgumentParser

/// `vigil`: the server and the people's tools.
@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: know within seconds when a host dies.",
        discussion: "Run `vigil up` to try it on this machine; `vigil server` for a real deployment.",
        version: "0.1.0",
        subcommands: [ServerCommand.self, UpCommand.self, StatusCommand.self, KeysCommand.self, TLSCommand.self, ReloadCommand.self, UsersCommand.self, ChatCommand.self, SendCommand.self, SendFileCommand.self, ClusterCommand.self, MigrateCommand.self]
    )
}
