// swift-tools-version:6.2
import PackageDescription

/// Vigil: a self-hosted fleet monitor and messenger.
///
/// Module layering (each depends only on those above it):
/// - `VigilMetrics`: the metrics document (what `POST /api/metrics` and the agent's METRICS frames carry).
/// - `VigilProtocol`: frames, the JSON envelope, binary frame kinds, codecs. No I/O policy.
/// - `VigilAPI`: the HTTP API's response types and JSON conventions (`AgentStatus`, `LivenessState`, `APICoding`), for the server and its clients.
/// - `VigilAlerting`: alert rules, their incremental evaluation (rolling windows, `for`, hysteresis), silences,
///   routing and grouping, and the notification channels deliver. Pure values, no I/O.
/// - `VigilCollectors`: one collector per file reading /proc, /sys and statfs, and their registry.
/// - `VigilTransfer`: files on disk for both ends of a transfer: partial files, hashing, fsync, atomic rename, resume.
/// - `VigilConnection`: the one client connection layer: `ServerAddress`, the dialer (connect timeout, TLS with a
///   pinned CA, framing), the reconnect backoff, permanent refusals (`ErrorCode.isPermanentRefusal`), enrollment tokens.
/// - `VigilAgent`: the host agent's connection, heartbeats, metrics sampling and reconnect logic (no HTTP, no database).
/// - `VigilClient`: a client connection for people's tools (`vigil chat`, `vigil send`, `vigil send-file`).
/// - `VigilStore`: the backend-neutral storage protocol and its embedded SQLite implementation.
/// - `VigilPostgres`: the same protocols on PostgreSQL (PostgresNIO), for a cluster of servers.
/// - `VigilLocalPostgres`: starts a throwaway PostgreSQL server for tests and benchmarks.
/// - `VigilDashboard`: the web dashboard's assets (HTML, CSS, JavaScript modules), embedded in code.
/// - `VigilServer`: the agent listener, liveness (failure detection), configuration and the HTTP API.
/// - `VigilCLI` (`vigil`) and `VigilAgentMain` (`vigil-agent`): the executables.
/// - `VigilFuzzing`: the fuzz targets' entry points for the protocol and the metrics document (the
///   libFuzzer executables are a separate package in Fuzz/; docs/TESTING.md).
let package = Package(
    name: "vigil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigil", targets: ["VigilCLI"]),
        .executable(name: "vigil-agent", targets: ["VigilAgentMain"]),
        .library(name: "VigilProtocol", targets: ["VigilProtocol"]),
        // For the fuzz package (Fuzz/Package.swift), which builds them with -sanitize=fuzzer,address.
        .library(name: "VigilFuzzing", targets: ["VigilFuzzing"]),
        .library(name: "VigilServer", targets: ["VigilServer"]),
        .executable(name: "vigil-bench", targets: ["VigilBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),  // the alerting file (already in the graph through swift-configuration)
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "VigilProtocol",
            dependencies: [
                "VigilMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ]
        ),
        .target(name: "VigilMetrics"),  // no dependencies: the agent, the server and scripts' tools share it
        .target(name: "VigilAPI", dependencies: ["VigilMetrics"]),
        // Alert rules, their incremental evaluation, silences, routing and the notification a channel
        // delivers: pure logic, no I/O (the server's Alerting/ folder runs it; VigilNotify delivers).
        .target(name: "VigilAlerting", dependencies: ["VigilMetrics"]),  // `vigil status` decodes these without linking the server
        .target(name: "VigilCollectors", dependencies: ["VigilMetrics"]),
        // Notification channels (webhook and its chat presets, Alertmanager, email over SMTP): deliver
        // one notification once and classify the failure; the server's dispatcher owns retries.
        .target(
            name: "VigilNotify",
            dependencies: [
                "VigilAlerting",
                "VigilProtocol",  // logEscaped
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VigilTransfer",
            dependencies: [
                "VigilProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VigilConnection",
            dependencies: [
                "VigilProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "VigilClient",
            dependencies: [
                "VigilProtocol",
                "VigilConnection",
                "VigilTransfer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VigilAgent",
            dependencies: [
                "VigilProtocol",
                "VigilConnection",
                "VigilTransfer",
                "VigilMetrics",
                "VigilCollectors",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VigilStore",
            dependencies: [
                "VigilAPI",
                "VigilAlerting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The store on PostgreSQL, for several servers sharing one database (store.backend: postgres).
        .target(
            name: "VigilPostgres",
            dependencies: [
                "VigilProtocol",  // Duration.seconds
                "VigilStore",
                "VigilAPI",
                "VigilAlerting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // A throwaway PostgreSQL server (initdb + pg_ctl in a temporary directory) for tests and benchmarks.
        .target(name: "VigilLocalPostgres"),
        // The web dashboard's HTML, CSS and JavaScript, compiled into the binary (no files to install).
        .target(name: "VigilDashboard", resources: [.embedInCode("Assets")]),
        .target(
            name: "VigilServer",
            dependencies: [
                "VigilAPI",
                "VigilAlerting",
                "VigilNotify",  // the channels the alert dispatcher delivers through
                "VigilPostgres",  // store.backend: postgres
                "VigilConnection",  // the enrollment token and CA fingerprint the server issues
                "VigilDashboard",
                "VigilProtocol",
                "VigilTransfer",
                "VigilMetrics",
                "VigilStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                // The server's own figures (`GET /metrics`): a registry each server owns (ServerMetrics).
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "VigilFuzzing",  // deliberately small: the fuzz package compiles all of it with sanitizers
            dependencies: [
                "VigilProtocol",
                "VigilMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "VigilCLI",
            dependencies: [
                "VigilPostgres",
                "VigilAPI",
                "VigilProtocol",
                "VigilConnection",
                "VigilServer",
                "VigilClient",
                "VigilStore",
                "VigilAgent",
                "VigilCollectors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "VigilAgentMain",
            dependencies: [
                "VigilAgent",
                "VigilConnection",
                "VigilCollectors",
                "VigilMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "VigilBench",  // load generator and benchmarks against a real `vigil server` (docs/PERFORMANCE.md)
            dependencies: [
                "VigilLocalPostgres",
                "VigilProtocol",
                "VigilClient",  // `cluster`: chat clients that fail over between members
                "VigilServer",  // `exposition`: renders /metrics/fleet in this process
                "VigilConnection",
                "VigilMetrics",
                "VigilStore",  // `history`: the metrics stores measured in process, SQLite and PostgreSQL
                "VigilPostgres",
                "VigilLocalPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "VigilProtocolTests",
            dependencies: ["VigilProtocol", .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "VigilAlertingTests",
            dependencies: ["VigilAlerting", "VigilMetrics", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "VigilNotifyTests",  // against a local HTTP receiver, the real alertmanager and aiosmtpd
            dependencies: [
                "VigilNotify", "VigilAlerting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Support/smtp_server.py"]
        ),
        .testTarget(
            name: "VigilCollectorsTests",
            dependencies: ["VigilCollectors", "VigilMetrics"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "VigilTransferTests",
            dependencies: ["VigilTransfer", "VigilProtocol", .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "VigilClientTests",
            dependencies: [
                "VigilClient", "VigilProtocol", "VigilServer", "VigilStore", "VigilTransfer", "VigilPostgres",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VigilConnectionTests",
            dependencies: [
                "VigilConnection", "VigilProtocol",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "VigilAgentTests",
            dependencies: ["VigilAgent", "VigilConnection", "VigilProtocol"]
        ),
        .testTarget(
            name: "VigilStoreTests",
            dependencies: [
                "VigilStore", "VigilPostgres", "VigilLocalPostgres", "VigilAlerting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "VigilServerTests",
            dependencies: [
                "VigilServer", "VigilStore", "VigilProtocol", "VigilAgent", "VigilMetrics", "VigilConnection", "VigilPostgres",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(
            name: "VigilFuzzingTests",  // replays Fuzz/Corpus through every fuzz target
            dependencies: ["VigilFuzzing", "VigilProtocol", "VigilServer"]
        ),
        .testTarget(
            name: "VigilEndToEndTests",
            dependencies: ["VigilProtocol", "VigilLocalPostgres", .product(name: "HummingbirdWSClient", package: "hummingbird-websocket")],
            exclude: ["openapi_validate.py", "interop_chat_client.py", "dashboard_js_tests.mjs", "webhook_receiver.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
