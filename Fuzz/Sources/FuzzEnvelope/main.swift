import FuzzDriver
import VigilFuzzing

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    EnvelopeFuzzer.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

runLibFuzzer(testOneInput)
