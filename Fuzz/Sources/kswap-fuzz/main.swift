// kswap-fuzz TARGET [libFuzzer options] [CORPUS...]: runs one fuzz target under libFuzzer.
// kswap-fuzz --list: the targets and what each reads.
// The target may also come from KSWAP_FUZZ_TARGET, which is how libFuzzer's -fork and -jobs children,
// run with the other arguments only, find it.

import CLibFuzzer
import Glibc

var arguments = CommandLine.arguments
if arguments.count == 2 && arguments[1] == "--list" {
  for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
  exit(0)
}
if arguments.count >= 2, !arguments[1].hasPrefix("-") {
  setenv("KSWAP_FUZZ_TARGET", arguments.remove(at: 1), 1)
}
guard let name = getenv("KSWAP_FUZZ_TARGET").map({ String(cString: $0) }),
  let target = FuzzTarget.all.first(where: { $0.name == name })
else {
  let names = FuzzTarget.all.map(\.name).joined(separator: " ")
  let usage = "usage: kswap-fuzz TARGET [libFuzzer options] [CORPUS...]\ntargets: \(names)\n"
  _ = usage.withCString { write(2, $0, strlen($0)) }
  exit(2)
}
FuzzTarget.selected = target
Scratch.create()

// libFuzzer keeps argv: its -fork and -jobs modes run children with it.
var cArguments = arguments.map { strdup($0) } + [nil]
var count = CInt(arguments.count)
let status = cArguments.withUnsafeMutableBufferPointer { buffer in
  var argv = buffer.baseAddress
  return LLVMFuzzerRunDriver(&count, &argv, testOneInput)
}
exit(status)

/// The callback libFuzzer runs on each input. Under this name it also satisfies the runtime's own
/// main, which -sanitize=fuzzer links but SwiftPM's entry point (this file) replaces.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  FuzzTarget.selected!.run(Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}
