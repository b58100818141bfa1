// Interrupt cleanup for temporary files that a library (TensorWriter) creates beside an output.

import Glibc
import TensorFile

/// Removes, if the process is interrupted (SIGINT, SIGTERM, SIGHUP), the temporary file that a
/// library opened beside an output and has not renamed yet. Create it right after the writer,
/// release it after the writer has finished or aborted.
///
///     let writer = try TensorWriter(path: path, ...)
///     let cleanup = InterruptCleanup(temporaryFile: writer.temporaryPath)
///     defer { cleanup.release() }
public final class InterruptCleanup {
  public private(set) var paths: [String] = []

  /// Watches `path`; nil (a writer to stdout or a device) watches nothing.
  public init(temporaryFile path: String?) {
    guard let path else { return }
    TemporaryFiles.withSignalsBlocked { TemporaryFiles.register(Array(path.utf8CString)) }
    paths.append(path)
  }

  /// Stops watching the files (after they were renamed into place or removed).
  public func release() {
    for path in paths { TemporaryFiles.unregister(path) }
    paths = []
  }

  deinit {
    release()
  }
}

extension TensorWriter {
  /// `write(path:format:metadata:tensors:)` for a tool: a signal that ends the process mid-write
  /// removes the temporary file instead of leaving it beside the output.
  public static func writeCleaningUpOnInterrupt(
    path: String, format: Format = .safetensors, metadata: [String: String] = [:],
    tensors: [(info: TensorInfo, bytes: [UInt8])]
  ) throws {
    let writer = try TensorWriter(path: path, format: format, metadata: metadata, tensors: tensors.map(\.info))
    let cleanup = InterruptCleanup(temporaryFile: writer.temporaryPath)
    defer { cleanup.release() }
    try writer.writeAll(tensors)
  }
}
