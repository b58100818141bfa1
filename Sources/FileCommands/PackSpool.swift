// kswap-pack's spool: a stream copied to a temporary file when it must be read out of order.

import Glibc
import TensorFile
import ToolSupport

/// A pipe's selected tensors copied to a temporary plain file, so they can be read in any order.
/// Needed only when a stream's order differs from the output's aligned order; the file is removed
/// when the spool goes away.
final class Spool {
  let path: String
  let reader: TensorReader

  init(_ plan: PackPlan, from source: PackSource) throws {
    var template = Array("\(temporaryDirectory())/kswap-pack-spool-XXXXXX".utf8CString)
    let descriptor = mkstemp(&template)
    guard descriptor >= 0 else { throw ToolError.system(temporaryDirectory(), "cannot create a spool file") }
    close(descriptor)
    path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    do {
      let wanted = Set(plan.tensors.map(\.source.name))
      let writer = try TensorWriter(
        path: path, format: .safetensors, tensors: plan.tensors.map(\.source), order: .asGiven)
      try source.forEachTensor { info, bytes in
        if wanted.contains(info.name) { try writer.write(info.name, bytes: bytes) }
      }
      try writer.finish()
      reader = try TensorReader(path: path)
    } catch {
      unlink(path)
      throw error
    }
  }

  deinit {
    unlink(path)
  }
}

private func temporaryDirectory() -> String {
  guard let directory = getenv("TMPDIR") else { return "/tmp" }
  return String(cString: directory)
}
