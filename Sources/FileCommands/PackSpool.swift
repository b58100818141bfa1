// kswap-pack's spool: a stream copied to a temporary file when it must be read out of order.

import Glibc
import TensorFile

/// A pipe's selected tensors copied to a temporary plain file, so they can be read in any order.
/// Needed only when a stream's order differs from the output's aligned order; the file is removed
/// when the spool goes away, or by the signal handler if the process is interrupted first.
final class Spool {
  let file: ScratchFile
  let reader: TensorReader

  init(_ plan: PackPlan, from source: PackSource) throws {
    file = try ScratchFile(directory: temporaryDirectory(), prefix: "kswap-pack-spool-")
    let wanted = Set(plan.tensors.map(\.source.name))
    let writer = try TensorWriter(
      path: file.path, format: .safetensors, tensors: plan.tensors.map(\.source), order: .asGiven)
    try source.forEachTensor { info, bytes in
      if wanted.contains(info.name) { try writer.write(info.name, bytes: bytes) }
    }
    try writer.finish()
    reader = try TensorReader(path: file.path)
  }
}

private func temporaryDirectory() -> String {
  guard let directory = getenv("TMPDIR") else { return "/tmp" }
  return String(cString: directory)
}
