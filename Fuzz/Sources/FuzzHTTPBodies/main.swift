import FuzzDriver
import VigilServer

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HTTPRequestBodies.fuzz(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

runLibFuzzer(testOneInput)
