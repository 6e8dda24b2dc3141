// swift-tools-version:6.2
import PackageDescription

/// Vigil's libFuzzer targets, one executable each (docs/TESTING.md). Built apart from the main
/// package because every Swift module, dependencies included, is compiled with the fuzzer's
/// coverage and AddressSanitizer:
///
///     cd Fuzz && swift build -c debug -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz
///     .build-fuzz/debug/FuzzEnvelope Corpus/FuzzEnvelope -dict=Dictionaries/FuzzEnvelope.dict
///
/// The targets' code lives in the main package (`VigilFuzzing`, and `HTTPRequestBodies` in
/// VigilServer), so the normal build compiles it and `swift test` replays the corpus through it.
let package = Package(
    name: "vigil-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "vigil", path: ".."),
    ],
    targets: [
        // Hands control to libFuzzer's driver (SwiftPM's executables bring their own `main`).
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzFrames", dependencies: ["FuzzDriver", .product(name: "VigilFuzzing", package: "vigil")]),
        .executableTarget(name: "FuzzEnvelope", dependencies: ["FuzzDriver", .product(name: "VigilFuzzing", package: "vigil")]),
        .executableTarget(name: "FuzzMetrics", dependencies: ["FuzzDriver", .product(name: "VigilFuzzing", package: "vigil")]),
        // The only target that needs the server module (and so Hummingbird, GRDB, JWTKit, ...).
        .executableTarget(name: "FuzzHTTPBodies", dependencies: ["FuzzDriver", .product(name: "VigilServer", package: "vigil")]),
    ],
    swiftLanguageModes: [.v6]
)
