#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fuzz target's entry point, as libFuzzer calls it: the input's bytes and their count.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// libFuzzer's driver (in the runtime that `-sanitize=fuzzer` links): parses the command line
/// (`-runs=`, `-dict=`, corpus directories, ...) and calls `target` for each input.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ target: FuzzTarget
) -> CInt

/// Runs libFuzzer on `target` with this process's arguments, and exits with its status.
///
/// SwiftPM gives each executable its own `main`, which would shadow the one in libFuzzer's
/// runtime; calling the driver from that `main` is libFuzzer's documented alternative.
public func runLibFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}
