/// The web dashboard's files, compiled into the binary from `Sources/VigilDashboard/Assets`
/// (`embedInCode`), so `vigil server` serves them with nothing to install and no internet.
///
/// A new file in `Assets/` must also be added to ``table`` (SwiftPM generates one constant per
/// file, named after it, and offers no way to list them).
public enum DashboardAssets {
    /// The asset with this file name, or `nil` when there is none.
    public static func file(named name: String) -> DashboardAsset? {
        Self.all[name]
    }

    /// Every asset's file name.
    public static var names: [String] { Self.all.keys.sorted() }

    // Built once, on first use (tags are hashed then, not per request).
    private static let all: [String: DashboardAsset] = {
        var assets: [String: DashboardAsset] = [:]
        for (name, bytes) in Self.table { assets[name] = DashboardAsset(name: name, bytes: bytes) }
        return assets
    }()

    private static let table: [(String, [UInt8])] = [
        ("index.html", PackageResources.index_html),
        ("app.css", PackageResources.app_css),
        ("app.js", PackageResources.app_js),
        ("api.js", PackageResources.api_js),
        ("live.js", PackageResources.live_js),
        ("dom.js", PackageResources.dom_js),
        ("timechart.js", PackageResources.timechart_js),
        ("login.js", PackageResources.login_js),
        ("fleet.js", PackageResources.fleet_js),
        ("cluster.js", PackageResources.cluster_js),
        ("host.js", PackageResources.host_js),
        ("alerts.js", PackageResources.alerts_js),
        ("alertlist.js", PackageResources.alertlist_js),
        ("silences.js", PackageResources.silences_js),
        ("deliveries.js", PackageResources.deliveries_js),
        ("rules.js", PackageResources.rules_js),
        ("messages.js", PackageResources.messages_js),
        ("files.js", PackageResources.files_js),
        ("account.js", PackageResources.account_js),
        ("favicon.svg", PackageResources.favicon_svg),
    ]
}
